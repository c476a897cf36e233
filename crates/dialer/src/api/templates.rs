//! Templates: validated here, whoever calls (CLI, HTTP, an application), before anything is
//! stored.

use jiff::Timestamp;

use crate::delivery::blocking;
use crate::dialer::Dialer;
use dialout_model::template::{NewTemplate, Template, TemplateChange};
use dialout_model::template::{check_body, check_slug};

use crate::api::errors::Error;

impl Dialer {
    /// Stores a new template after checking its slug and body.
    pub async fn add_template(&self, template: NewTemplate) -> Result<Template, Error> {
        check_slug(&template.slug)?;
        check_body(&template.body)?;
        Ok(blocking(self.store(), move |s| {
            s.add_template(&template, Timestamp::now())
        })
        .await?)
    }

    /// Changes a template's body or flags; a change that names nothing is refused.
    pub async fn update_template(
        &self,
        slug: &str,
        change: TemplateChange,
    ) -> Result<Template, Error> {
        check_slug(slug)?;
        if change == TemplateChange::default() {
            return Err(Error::NothingToChange);
        }
        if let Some(body) = &change.body {
            check_body(body)?;
        }
        let slug = slug.to_string();
        Ok(blocking(self.store(), move |s| {
            s.update_template(&slug, &change, Timestamp::now())
        })
        .await?)
    }

    /// Removes a template; messages sent from it keep its slug.
    pub async fn remove_template(&self, slug: &str) -> Result<(), Error> {
        let owned = slug.to_string();
        if blocking(self.store(), move |s| s.remove_template(&owned)).await? {
            Ok(())
        } else {
            Err(Error::NoTemplate(slug.to_string()))
        }
    }

    pub async fn template(&self, slug: &str) -> Result<Template, Error> {
        let owned = slug.to_string();
        blocking(self.store(), move |s| s.template(&owned))
            .await?
            .ok_or_else(|| Error::NoTemplate(slug.to_string()))
    }

    pub async fn templates(&self) -> Result<Vec<Template>, Error> {
        Ok(blocking(self.store(), |s| s.templates()).await?)
    }
}
