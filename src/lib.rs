//! # stance
//!
//! Labels the stance of news sentences about Russia–Belarus relations on one
//! axis: closer integration (`pro-integration`) versus Belarusian sovereignty
//! (`sovereignty-preserving`), else `neutral`. The label set is data: it is
//! whatever the labels files contain.
//!
//! Data flows one way: text → [`article`] (cleaning, [`sentences`]) →
//! [`features`] → [`model`] → predictions → [`eval`] reports.
//!
//! ```
//! use stance::{Article, StanceModel};
//! let article = Article::from_text("a.txt", "Menu\n\nMinsk will keep its own currency. The talks ended.");
//! let model = StanceModel::embedded()?;
//! for s in &article.sentences {
//!     let p = model.predict(&s.text);
//!     println!("{}\t{:.2}\t{}", model.labels()[p.label], p.probabilities[p.label], s.text);
//! }
//! # Ok::<(), stance::Error>(())
//! ```
#![deny(missing_docs)]

pub mod article;
pub mod cli;
pub mod error;
pub mod eval;
pub mod features;
pub mod labels;
pub mod model;
pub mod retrain;
pub mod sentences;
pub mod store;
pub mod stream;

pub use article::{Article, Sentence};
pub use error::{Error, Result};
pub use model::StanceModel;
pub use sentences::split_sentences;
pub mod document;
pub mod report;
pub mod speakers;
pub mod summary;
pub mod webpage;
