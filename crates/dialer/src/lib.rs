//! Dialer messages: model, states, templates, store, backends and delivery.
