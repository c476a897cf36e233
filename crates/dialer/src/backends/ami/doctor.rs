//! `dialout doctor` for AMI backends: the login, the dialplan's context, the audio URL.
