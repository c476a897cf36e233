//! What Asterisk does once the callee answers.

use crate::error::{Field, ValidationError};
use crate::validate;

/// Run one application, or enter the dialplan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// `Application:` + `Data:` (data may be empty).
    Application { app: String, data: String },
    /// `Context:` + `Extension:` + `Priority:` (a number ≥ 1; labels are not read by Asterisk).
    Context {
        context: String,
        extension: String,
        priority: u32,
    },
}

impl Action {
    pub fn application(app: impl Into<String>, data: impl Into<String>) -> Self {
        Action::Application {
            app: app.into(),
            data: data.into(),
        }
    }

    pub fn context(
        context: impl Into<String>,
        extension: impl Into<String>,
        priority: u32,
    ) -> Self {
        Action::Context {
            context: context.into(),
            extension: extension.into(),
            priority,
        }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Action::Application { app, data } => {
                validate::application(app)?;
                validate::text(Field::Data, data, true, false)
            }
            Action::Context {
                context,
                extension,
                priority,
            } => {
                validate::dialplan_name(Field::Context, context)?;
                validate::dialplan_name(Field::Extension, extension)?;
                validate::at_least_one(Field::Priority, *priority)
            }
        }
    }
}
