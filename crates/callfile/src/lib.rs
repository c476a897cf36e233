//! Asterisk call files: build, validate, render, parse and spool them safely.
