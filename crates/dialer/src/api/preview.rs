//! A template rendered without storing or sending anything, for editors' previews.

use crate::dialer::Dialer;
use dialout_model::message::JsonMap;
use dialout_model::template::{TemplateError, check_body, render};

impl Dialer {
    /// What a message from this body and context would say: refused as saving the body
    /// would refuse it, then rendered as sending would render it. Nothing is stored.
    pub fn preview_template(
        &self,
        slug: &str,
        body: &str,
        context: &JsonMap,
    ) -> Result<String, TemplateError> {
        check_body(body)?;
        render(slug, body, context)
    }
}
