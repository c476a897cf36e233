//! Conversion to Asterisk's `.wav`: 8 kHz mono, with a windowed-sinc low-pass (rubato) so
//! that speech above 4 kHz folds into no audible aliasing.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use super::{Audio, TELEPHONY_RATE, TtsError};

/// Resamples to [`TELEPHONY_RATE`]; audio already at that rate is returned as it is.
pub fn to_telephony(audio: &Audio) -> Result<Audio, TtsError> {
    if audio.sample_rate == TELEPHONY_RATE || audio.samples.is_empty() {
        return Ok(Audio {
            sample_rate: TELEPHONY_RATE,
            samples: audio.samples.clone(),
        });
    }
    if audio.sample_rate == 0 {
        return Err(TtsError::Convert(
            "the engine reported a sample rate of 0".into(),
        ));
    }
    let err = |e: &dyn std::fmt::Display| TtsError::Convert(e.to_string());
    let ratio = f64::from(TELEPHONY_RATE) / f64::from(audio.sample_rate);
    let params = SincInterpolationParameters {
        sinc_len: 128,
        f_cutoff: None,
        oversampling_factor: 128,
        interpolation: SincInterpolationType::Linear,
        window: WindowFunction::BlackmanHarris2,
    };
    let mut resampler = Async::<f32>::new_sinc(ratio, 1.0, &params, 1024, 1, FixedAsync::Input)
        .map_err(|e| err(&e))?;
    let input: Vec<f32> = audio
        .samples
        .iter()
        .map(|&s| f32::from(s) / 32768.0)
        .collect();
    let adapter = InterleavedSlice::new(&input, 1, input.len()).map_err(|e| err(&e))?;
    let out = resampler
        .process_all(&adapter, input.len(), None)
        .map_err(|e| err(&e))?;
    let samples = out
        .take_data()
        .into_iter()
        .map(|s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect();
    Ok(Audio {
        sample_rate: TELEPHONY_RATE,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_scales_with_the_rate_and_a_low_tone_survives() {
        // One second of a 440 Hz tone at 22050 Hz.
        let samples: Vec<i16> = (0..22050)
            .map(|i| ((i as f64 * 440.0 * std::f64::consts::TAU / 22050.0).sin() * 16000.0) as i16)
            .collect();
        let out = to_telephony(&Audio {
            sample_rate: 22050,
            samples,
        })
        .unwrap();
        assert_eq!(out.sample_rate, 8000);
        assert!(
            (out.samples.len() as i64 - 8000).abs() <= 2,
            "{} samples",
            out.samples.len()
        );
        let peak = out.samples[1000..7000]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(
            (14000..=18000).contains(&peak),
            "a 440 Hz tone keeps its level, peak {peak}"
        );
    }

    #[test]
    fn a_tone_above_the_new_nyquist_is_filtered_out() {
        let samples: Vec<i16> = (0..22050)
            .map(|i| ((i as f64 * 6000.0 * std::f64::consts::TAU / 22050.0).sin() * 16000.0) as i16)
            .collect();
        let out = to_telephony(&Audio {
            sample_rate: 22050,
            samples,
        })
        .unwrap();
        let peak = out.samples[1000..7000]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(
            peak < 800,
            "6 kHz cannot be played at 8 kHz and must not alias, peak {peak}"
        );
    }
}
