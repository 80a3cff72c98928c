//! Ordered, parallel, bounded-memory processing of line-oriented streams.
//!
//! [`process_lines`] reads its input in chunks of whole lines. Each of
//! `threads` threads (the calling one included) in turn reads a chunk,
//! processes it and passes it to the ordered writer, which writes the chunks
//! in input order, so the result is byte-identical for any thread count. At most [`StreamOptions::chunks_in_flight`] chunks exist at
//! once and their buffers are reused, so memory stays constant however long
//! the input is (it grows only with the longest single line).
//!
//! ```
//! use stance::stream::{process_lines, StreamOptions};
//! let input = b"one\ntwo\nthree\n";
//! let mut output = Vec::new();
//! let options = StreamOptions { threads: 2, ..StreamOptions::default() };
//! process_lines(
//!     &input[..],
//!     &mut output,
//!     &options,
//!     || (),
//!     |_, line, out, _| {
//!         out.extend_from_slice(&line.len().to_le_bytes()[..1]);
//!         out.push(b'\n');
//!         Ok(())
//!     },
//!     |_, _| {},
//! )?;
//! assert_eq!(output, b"\x03\n\x03\n\x05\n");
//! # Ok::<(), stance::Error>(())
//! ```

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::error::{Error, Result};

/// How [`process_lines`] splits and schedules its input.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Worker threads; `1` processes everything on the calling thread.
    pub threads: usize,
    /// Target size of one chunk of input, in bytes (whole lines are kept together).
    pub chunk_bytes: usize,
    /// Chunks that may exist at once (read, being processed, or waiting to be written).
    pub chunks_in_flight: usize,
    /// Name of the input in messages, e.g. `<stdin>`.
    pub input_name: String,
    /// Name of the output in messages, e.g. `<stdout>`.
    pub output_name: String,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            threads: 1,
            chunk_bytes: 256 * 1024,
            chunks_in_flight: 0,
            input_name: "<stdin>".into(),
            output_name: "<stdout>".into(),
        }
    }
}

/// The number of threads "all cores" means on this machine.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// One chunk of input lines and what the worker made of them.
#[derive(Default)]
struct Chunk {
    input: Vec<u8>,
    output: Vec<u8>,
    /// (line number within the chunk, 0-based; message).
    warnings: Vec<(usize, String)>,
    /// Lines processed.
    lines: usize,
    /// The line (within the chunk) that failed, and why.
    error: Option<(usize, String)>,
}

impl Chunk {
    fn reset(&mut self) {
        self.input.clear();
        self.output.clear();
        self.warnings.clear();
        self.lines = 0;
        self.error = None;
    }

    /// Runs `process` over every line (without its `\n`), stopping at the first error.
    fn process<S, P>(&mut self, state: &mut S, process: &P)
    where
        P: Fn(&mut S, &[u8], &mut Vec<u8>, &mut Vec<String>) -> std::result::Result<(), String>,
    {
        let mut warnings = Vec::new();
        let mut rest = &self.input[..];
        while !rest.is_empty() {
            let (line, next) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            rest = next;
            let result = process(state, line, &mut self.output, &mut warnings);
            for w in warnings.drain(..) {
                self.warnings.push((self.lines, w));
            }
            if let Err(message) = result {
                self.error = Some((self.lines, message));
                return;
            }
            self.lines += 1;
        }
    }
}

/// Reads the next chunk of whole lines into `chunk.input`, carrying a partial
/// last line over in `carry`. Returns `false` at the end of the input.
fn fill<R: Read>(
    input: &mut R,
    chunk: &mut Chunk,
    carry: &mut Vec<u8>,
    eof: &mut bool,
    options: &StreamOptions,
) -> Result<bool> {
    chunk.reset();
    chunk.input.append(carry);
    let target = options.chunk_bytes.max(1);
    loop {
        if *eof {
            return Ok(!chunk.input.is_empty());
        }
        if chunk.input.len() >= target {
            if let Some(last) = chunk.input.iter().rposition(|&b| b == b'\n') {
                carry.extend_from_slice(&chunk.input[last + 1..]);
                chunk.input.truncate(last + 1);
                return Ok(true);
            }
        }
        let len = chunk.input.len();
        let want = target.max(len / 2).max(4096);
        chunk.input.reserve(want);
        // Appends straight into spare capacity (no zeroing first), retrying
        // interrupted reads; fewer bytes than asked for means end of input.
        let n = match input
            .by_ref()
            .take(want as u64)
            .read_to_end(&mut chunk.input)
        {
            Ok(n) => n,
            Err(e) => {
                chunk.input.truncate(len);
                return Err(Error::io(&options.input_name, "read", e));
            }
        };
        if n < want {
            *eof = true;
        }
    }
}

/// Writes one processed chunk in order; returns the error it carries, if any.
fn emit<W: Write>(
    output: &mut W,
    chunk: &Chunk,
    first_line: usize,
    options: &StreamOptions,
    on_warning: &mut dyn FnMut(usize, String),
) -> Result<()> {
    for (line, message) in &chunk.warnings {
        on_warning(first_line + line, message.clone());
    }
    output
        .write_all(&chunk.output)
        .map_err(|e| Error::io(&options.output_name, "write", e))?;
    if let Some((line, message)) = &chunk.error {
        return Err(Error::Input {
            origin: format!("{}:{}", options.input_name, first_line + line),
            message: message.clone(),
        });
    }
    Ok(())
}

/// Processes `input` line by line and writes the results in input order.
///
/// `process(state, line, out, warnings)` gets one line without its `\n`,
/// appends its result to `out` and may push warnings; an `Err(message)`
/// stops the run with [`Error::Input`] naming `input_name:LINE` (1-based),
/// after every earlier line's output is written. `make_state` makes one
/// state per worker (reusable buffers). `on_warning(line, message)` is
/// called in input order, before the output of that line's chunk.
///
/// # Errors
/// [`Error::Io`] when reading or writing fails (a closed pipe included),
/// [`Error::Input`] for a line `process` refused.
pub fn process_lines<R, W, S, M, P>(
    mut input: R,
    mut output: W,
    options: &StreamOptions,
    make_state: M,
    process: P,
    mut on_warning: impl FnMut(usize, String) + Send,
) -> Result<()>
where
    R: Read + Send,
    W: Write + Send,
    M: Fn() -> S + Sync,
    P: Fn(&mut S, &[u8], &mut Vec<u8>, &mut Vec<String>) -> std::result::Result<(), String> + Sync,
{
    let threads = options.threads.max(1);
    let mut carry = Vec::new();
    let mut eof = false;
    if threads == 1 {
        let mut state = make_state();
        let mut chunk = Chunk::default();
        let mut first_line = 1;
        while fill(&mut input, &mut chunk, &mut carry, &mut eof, options)? {
            chunk.process(&mut state, &process);
            emit(&mut output, &chunk, first_line, options, &mut on_warning)?;
            first_line += chunk.lines;
        }
        return output
            .flush()
            .map_err(|e| Error::io(&options.output_name, "write", e));
    }

    let in_flight = if options.chunks_in_flight == 0 {
        2 * threads + 2
    } else {
        options.chunks_in_flight.max(threads + 1)
    };
    let shared = Shared {
        reader: Mutex::new(Reader {
            input,
            carry,
            eof,
            next_seq: 0,
            error: None,
        }),
        free: Mutex::new((0..in_flight).map(|_| Chunk::default()).collect()),
        freed: Condvar::new(),
        pending: Mutex::new(Pending {
            chunks: BTreeMap::new(),
            next: 0,
        }),
        writer: Mutex::new(Writer {
            output,
            first_line: 1,
            on_warning: &mut on_warning,
            error: None,
        }),
        stop: AtomicBool::new(false),
    };
    // Every thread, the calling one included, reads a chunk, labels it and
    // hands it to the ordered writer: `threads` busy threads in all.
    std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads)
            .map(|_| scope.spawn(|| shared.work(options, &make_state, &process)))
            .collect();
        shared.work(options, &make_state, &process);
        let mut panicked = false;
        for worker in workers {
            panicked |= worker.join().is_err();
        }
        if panicked {
            return Err(Error::Input {
                origin: options.output_name.clone(),
                message: "a worker thread stopped unexpectedly".into(),
            });
        }
        Ok(())
    })?;
    let writer = shared
        .writer
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    // A write error (e.g. a closed pipe) also stops the reader; report it first.
    if let Some(error) = writer.error {
        return Err(error);
    }
    let reader = shared
        .reader
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(error) = reader.error {
        return Err(error);
    }
    let mut output = writer.output;
    output
        .flush()
        .map_err(|e| Error::io(&options.output_name, "write", e))
}

/// The input side: one thread at a time fills a chunk and numbers it.
struct Reader<R> {
    input: R,
    carry: Vec<u8>,
    eof: bool,
    next_seq: usize,
    /// A read error; every chunk before it is still written.
    error: Option<Error>,
}

/// Labeled chunks waiting for their turn, and the next one to write.
struct Pending {
    chunks: BTreeMap<usize, Chunk>,
    next: usize,
}

/// The output side, held by the one thread writing at a time.
struct Writer<'w, W> {
    output: W,
    first_line: usize,
    on_warning: &'w mut (dyn FnMut(usize, String) + Send),
    error: Option<Error>,
}

/// What the threads of [`process_lines`] share.
struct Shared<'w, R, W> {
    reader: Mutex<Reader<R>>,
    /// Chunk buffers not in use; at most `chunks_in_flight` exist.
    free: Mutex<Vec<Chunk>>,
    freed: Condvar,
    pending: Mutex<Pending>,
    writer: Mutex<Writer<'w, W>>,
    /// Set on the first error: no thread starts another chunk.
    stop: AtomicBool,
}

/// Locks `m`, ignoring poisoning (a panicking thread is reported by `join`).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<R: Read, W: Write> Shared<'_, R, W> {
    /// One thread's loop: take a free buffer, read, label, write in order.
    fn work<S, M, P>(&self, options: &StreamOptions, make_state: &M, process: &P)
    where
        M: Fn() -> S,
        P: Fn(&mut S, &[u8], &mut Vec<u8>, &mut Vec<String>) -> std::result::Result<(), String>,
    {
        let mut state = None;
        while let Some(mut chunk) = self.take_free() {
            let Some(seq) = self.read(&mut chunk, options) else {
                self.give_back(chunk);
                break;
            };
            let state = state.get_or_insert_with(make_state);
            chunk.process(state, process);
            lock(&self.pending).chunks.insert(seq, chunk);
            self.write_ready(options);
        }
        // Whoever stops first must not leave the others waiting for buffers.
        drop(lock(&self.free));
        self.freed.notify_all();
    }

    /// A free buffer, waiting for one if need be; `None` once the run stops.
    fn take_free(&self) -> Option<Chunk> {
        let mut free = lock(&self.free);
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            if let Some(chunk) = free.pop() {
                return Some(chunk);
            }
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give_back(&self, chunk: Chunk) {
        lock(&self.free).push(chunk);
        self.freed.notify_one();
    }

    /// Fills `chunk` with the next lines; returns its number, or `None` at
    /// the end of the input or after a read error (which stops the run).
    fn read(&self, chunk: &mut Chunk, options: &StreamOptions) -> Option<usize> {
        let mut reader = lock(&self.reader);
        if reader.error.is_some() || self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let Reader {
            input, carry, eof, ..
        } = &mut *reader;
        match fill(input, chunk, carry, eof, options) {
            Ok(true) => {
                let seq = reader.next_seq;
                reader.next_seq += 1;
                Some(seq)
            }
            Ok(false) => None,
            Err(e) => {
                reader.error = Some(e);
                None
            }
        }
    }

    /// Writes every labeled chunk whose turn has come, unless another thread
    /// is writing: that one then sees the chunks queued before it let go.
    fn write_ready(&self, options: &StreamOptions) {
        loop {
            let Ok(mut writer) = self.writer.try_lock() else {
                return;
            };
            while let Some(chunk) = self.pop_next() {
                if writer.error.is_none() {
                    let Writer {
                        output,
                        first_line,
                        on_warning,
                        error,
                    } = &mut *writer;
                    match emit(output, &chunk, *first_line, options, &mut **on_warning) {
                        Ok(()) => *first_line += chunk.lines,
                        Err(e) => {
                            *error = Some(e);
                            self.stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
                self.give_back(chunk);
            }
            drop(writer);
            // A chunk queued while this thread held the writer is written now.
            let pending = lock(&self.pending);
            if pending.chunks.keys().next() != Some(&pending.next) {
                return;
            }
        }
    }

    /// The next chunk in input order, if it is ready.
    fn pop_next(&self) -> Option<Chunk> {
        let mut pending = lock(&self.pending);
        let next = pending.next;
        let chunk = pending.chunks.remove(&next)?;
        pending.next += 1;
        Some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8], threads: usize, chunk_bytes: usize) -> Result<(Vec<u8>, Vec<String>)> {
        let mut out = Vec::new();
        let mut warnings = Vec::new();
        let options = StreamOptions {
            threads,
            chunk_bytes,
            ..StreamOptions::default()
        };
        process_lines(
            input,
            &mut out,
            &options,
            || 0usize,
            |calls, line, out, warn| {
                *calls += 1;
                if line == b"bad" {
                    return Err("bad line".into());
                }
                if line.is_empty() {
                    warn.push("empty".into());
                }
                out.extend(line.iter().rev());
                out.push(b'\n');
                Ok(())
            },
            |line, message| warnings.push(format!("{line}: {message}")),
        )?;
        Ok((out, warnings))
    }

    fn expected(input: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let body = input.strip_suffix('\n').unwrap_or(input);
        if input.is_empty() {
            return out;
        }
        for line in body.split('\n') {
            out.extend(line.bytes().rev());
            out.push(b'\n');
        }
        out
    }

    #[test]
    fn output_is_in_order_for_any_thread_count_and_chunk_size() {
        let input: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        for threads in [1, 2, 3, 8] {
            for chunk in [1, 7, 100, 4096, 1 << 20] {
                let (out, warnings) = run(input.as_bytes(), threads, chunk).unwrap();
                assert_eq!(out, expected(&input), "threads {threads}, chunk {chunk}");
                assert!(warnings.is_empty());
            }
        }
    }

    #[test]
    fn last_line_without_newline_and_empty_input() {
        assert_eq!(run(b"ab\ncd", 2, 1).unwrap().0, b"ba\ndc\n");
        assert_eq!(run(b"", 2, 16).unwrap().0, b"");
        assert_eq!(run(b"", 1, 16).unwrap().0, b"");
    }

    #[test]
    fn warnings_and_errors_name_the_line() {
        let input = b"a\n\nb\nc\nbad\nd\n";
        for threads in [1, 2] {
            for chunk in [1, 3, 1000] {
                let mut out = Vec::new();
                let mut warnings = Vec::new();
                let options = StreamOptions {
                    threads,
                    chunk_bytes: chunk,
                    ..StreamOptions::default()
                };
                let err = process_lines(
                    &input[..],
                    &mut out,
                    &options,
                    || (),
                    |_, line, out, warn| {
                        if line == b"bad" {
                            return Err("cannot read this".into());
                        }
                        if line.is_empty() {
                            warn.push("empty".into());
                        }
                        out.extend_from_slice(line);
                        out.push(b'\n');
                        Ok(())
                    },
                    |line, message| warnings.push(format!("{line}: {message}")),
                )
                .unwrap_err();
                assert_eq!(err.to_string(), "<stdin>:5: cannot read this");
                assert_eq!(out, b"a\n\nb\nc\n");
                assert_eq!(warnings, ["2: empty"]);
            }
        }
    }

    #[test]
    fn a_failing_writer_stops_the_run() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let input: String = (0..100_000).map(|i| format!("{i}\n")).collect();
        for threads in [1, 2] {
            let options = StreamOptions {
                threads,
                chunk_bytes: 64,
                ..StreamOptions::default()
            };
            let err = process_lines(
                input.as_bytes(),
                Closed,
                &options,
                || (),
                |_, line, out, _| {
                    out.extend_from_slice(line);
                    Ok(())
                },
                |_, _| {},
            )
            .unwrap_err();
            assert!(err.is_broken_pipe(), "{err}");
        }
    }
}
