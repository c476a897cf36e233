//! What several backends use, so that no backend imports a sibling.

pub mod blocking;
pub mod check;
pub mod ivr;
pub mod pacer;
pub mod secret;
