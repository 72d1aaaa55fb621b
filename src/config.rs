//! The `cliper run` configuration: one TOML file, composed of the sections each component
//! owns beside itself (`[source]` in `capture`, `[[outputs]]` in `publish`, `[tracking]` in
//! `track`, …). This module only composes them: it parses, asks every section to validate
//! itself under its key path, and names the file in every error. Unknown keys are errors
//! naming the key; every field has a documented, named default, so a config holds only what
//! differs.

use crate::align::{AlignConfig, AlignOptions};
use crate::capture::SourceConfig;
use crate::classify::clip::ClipConfig;
use crate::detect::config::DetectionConfig;
use crate::infer::InferenceConfig;
use crate::model::config::ModelsConfig;
use crate::pipeline::config::{FramePolicy, PipelineConfig};
use crate::pipeline::live::LiveConfig;
use crate::publish::OutputConfig;
use crate::schema::{Invalid, Key};
use crate::smooth::{SmootherConfig, SmoothingConfig};
use crate::track::{TrackerConfig, TrackingConfig};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// Not TOML, an unknown key, or a value of the wrong type (a pixel format that does not
    /// exist): serde's message names the key and the line.
    #[error("{path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    /// A value the section cannot use: `c.toml: outputs[1].qos must be 0, 1 or 2, got 3`.
    #[error("{path}: {key} {reason}")]
    Invalid { path: PathBuf, key: String, reason: String },
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name of this camera in events and MQTT topics.
    #[serde(default = "default_camera")]
    pub camera: String,
    /// Where frames come from.
    #[serde(default = "default_source")]
    pub source: SourceConfig,
    /// Which models score the faces.
    #[serde(default = "ModelsConfig::default")]
    pub models: ModelsConfig,
    /// How the live path finds small faces: tiles, track regions, the sweep.
    #[serde(default = "DetectionConfig::default")]
    pub detection: DetectionConfig,
    /// Which backend runs the models: tract (default) or ONNX Runtime.
    #[serde(default = "InferenceConfig::default")]
    pub inference: InferenceConfig,
    /// How faces are cut out for the encoder.
    #[serde(default = "AlignConfig::default")]
    pub align: AlignConfig,
    /// How faces are followed across frames.
    #[serde(default = "TrackingConfig::default")]
    pub tracking: TrackingConfig,
    /// How a track's expression is stabilised.
    #[serde(default = "SmoothingConfig::default")]
    pub smoothing: SmoothingConfig,
    /// Clip-level (dynamic FER) scoring.
    #[serde(default = "ClipConfig::default")]
    pub clip: ClipConfig,
    /// Queues, statistics.
    #[serde(default = "PipelineConfig::default")]
    pub pipeline: PipelineConfig,
    /// Where events go: `[[outputs]]` tables, each with a `type`; several at once. Unset:
    /// one `stdout` sink.
    #[serde(default = "crate::publish::default_outputs")]
    pub outputs: Vec<OutputConfig>,
}

/// Longest camera name: a topic level and part of Home Assistant's entity ids.
pub const MAX_CAMERA: usize = 64;

fn default_camera() -> String {
    "camera".into()
}

fn default_source() -> SourceConfig {
    SourceConfig::default()
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Config::parse(&text, path)
    }

    /// Parse and validate; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|source| ConfigError::Parse { path: path.to_owned(), source })?;
        c.validate().map_err(|Invalid { key, reason }| ConfigError::Invalid { path: path.to_owned(), key, reason })?;
        if c.pipeline.event_queue.is_some() {
            log::warn!(
                "{}: pipeline.event_queue is deprecated and ignored (events go straight to each output's queue, \
                 pipeline.output_queue); remove it",
                path.display()
            );
        }
        Ok(c)
    }

    /// Every section checks itself under its own key.
    fn validate(&self) -> Result<(), Invalid> {
        let root = Key::root();
        // The camera name is a topic level and a Home Assistant id.
        if let Some(why) = crate::publish::mqtt::config::topic_level_problem(&self.camera, MAX_CAMERA) {
            return Err(root.field("camera").invalid(why));
        }
        self.source.settings().validate(&root.field("source"))?;
        self.models.validate(&root.field("models"))?;
        self.align.validate(&root.field("align"))?;
        self.detection.validate(&root.field("detection"))?;
        self.tracking.validate(&root.field("tracking"))?;
        self.smoothing.validate(&root.field("smoothing"))?;
        self.clip.validate(&root.field("clip"))?;
        self.pipeline.validate(&root.field("pipeline"))?;
        crate::publish::validate_outputs(&self.outputs, &root.field("outputs"))
    }

    /// What needs the loaded models: every GPIO pin's expression among the classes.
    /// `path` names the file in the error.
    pub fn check_labels(&self, labels: &[String], path: &Path) -> Result<(), ConfigError> {
        let outputs = Key::root().field("outputs");
        for (i, o) in self.outputs.iter().enumerate() {
            if let OutputConfig::Gpio(g) = o {
                g.check_labels(&outputs.index(i), labels).map_err(|Invalid { key, reason }| ConfigError::Invalid {
                    path: path.to_owned(),
                    key,
                    reason,
                })?;
            }
        }
        Ok(())
    }

    pub fn tracker(&self) -> TrackerConfig {
        self.tracking.tracker()
    }

    pub fn smoother(&self) -> SmootherConfig {
        self.smoothing.smoother()
    }

    pub fn align_options(&self) -> AlignOptions {
        self.align.options()
    }

    /// The frame policy in force: the configured one, else by the kind of source.
    pub fn frame_policy(&self) -> FramePolicy {
        self.pipeline.frame_policy(self.source.settings().live())
    }

    /// What the live loop needs besides its stages (no watchdog: that is the service's);
    /// `detector_input`: the side of the detector's input square, `merge_iou` its NMS IoU.
    pub fn live(&self, detector_input: usize, merge_iou: f32) -> LiveConfig {
        LiveConfig {
            tiling: self.detection.tiling(detector_input),
            merge_iou,
            sweep_frames: self.detection.sweep_frames,
            track_regions: self.detection.track_regions,
            camera: self.camera.clone(),
            tracker: self.tracker(),
            smoother: self.smoother(),
            clip_window: self.clip.window,
            align: self.align_options(),
            frames: self.frame_policy(),
            output_queue: self.pipeline.output_queue,
            stats_interval: self.pipeline.stats_interval(),
            watchdog: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_an_empty_one_gets_every_default() {
        let example = include_str!("../config/cliper.example.toml");
        let c = Config::parse(example, Path::new("cliper.example.toml")).expect("example");
        assert!(matches!(c.source, SourceConfig::V4l2(_)));
        assert_eq!(c.frame_policy(), FramePolicy::FreshestWins);
        // The example's [inference] values are the defaults it claims to be.
        assert_eq!(c.inference, crate::infer::InferenceConfig::default());
        let d = Config::parse("", Path::new("empty.toml")).expect("empty");
        assert_eq!(d.smoother(), SmootherConfig::default());
        assert_eq!(d.tracker(), TrackerConfig::default());
        assert_eq!(d.frame_policy(), FramePolicy::Block);
    }

    #[test]
    fn the_example_outputs_parse_once_uncommented() {
        let example = include_str!("../config/cliper.example.toml");
        let start = example.find("# Where events go").expect("outputs section");
        // Uncomment table headers and `key = value` lines of the outputs examples.
        let uncommented: String = example[start..]
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with('[')
                        || rest.split_once(" = ").is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_')) =>
                {
                    rest
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let c = Config::parse(&format!("{}{uncommented}", &example[..start]), Path::new("x.toml")).expect("uncommented example");
        let names: Vec<&str> = c.outputs.iter().map(OutputConfig::name).collect();
        assert_eq!(names, ["stdout", "mqtt", "gpio"]);
        match &c.outputs[1] {
            OutputConfig::Mqtt(m) => assert!(m.tls.as_ref().is_some_and(|t| t.key_file.is_some()) && m.username.is_some()),
            other => panic!("{other:?}"),
        }
        match &c.outputs[2] {
            OutputConfig::Gpio(g) => assert_eq!((g.pins.len(), g.pins[1].pulse_ms), (2, 500)),
            other => panic!("{other:?}"),
        }
        // As shipped, and with no outputs at all: one stdout sink.
        let d = Config::parse(example, Path::new("x.toml")).expect("example");
        assert_eq!(d.outputs, crate::publish::default_outputs());
    }

    #[test]
    fn bad_outputs_are_refused_naming_the_key() {
        for (text, needle) in [
            ("[[outputs]]\ntype = 'mqtt'\nhots = 'x'", "hots"),
            ("[[outputs]]\ntype = 'kafka'", "kafka"),
            ("[[outputs]]\ntype = 'mqtt'\nqos = 3", "qos"),
            ("[[outputs]]\ntype = 'mqtt'\ntopic_prefix = 'a/#'", "topic_prefix"),
            ("[[outputs]]\ntype = 'mqtt'\npassword_file = 'a'\npassword_credential = 'b'", "not both"),
            ("[[outputs]]\ntype = 'mqtt'\n[outputs.tls]\nca_file = 'ca'\ncert_file = 'c'", "go together"),
            ("[[outputs]]\ntype = 'gpio'", "at least one"),
            (
                "[[outputs]]\ntype = 'gpio'\n[[outputs.pins]]\nline = 1\nexpression = 'a'\n[[outputs.pins]]\nline = 1\nexpression = 'b'",
                "only one",
            ),
            ("[[outputs]]\ntype = 'stdout'\n[[outputs]]\ntype = 'stdout'", "one stdout"),
            ("outputs = []", "at least one output"),
        ] {
            let e = Config::parse(text, Path::new("c.toml")).expect_err(needle).to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn unknown_keys_are_named_at_every_level() {
        for (text, key) in [
            ("cameras = 'x'", "cameras"),
            ("[smoothing]\nhalf_life = 3", "half_life"),
            ("[source]\ntype = 'v4l2'\ndevise = '/dev/video0'", "devise"),
            ("[source]\ntype = 'webcam'", "webcam"),
        ] {
            let e = Config::parse(text, Path::new("c.toml")).expect_err(key).to_string();
            assert!(e.starts_with("c.toml: ") && e.contains(key), "{e}");
        }
    }

    #[test]
    fn out_of_range_values_are_refused() {
        for (text, needle) in [
            ("[source]\ntype = 'images'\nfps = 0", "fps must be within 0.001..=1000, got 0"),
            ("[clip]\nwindow = 0", "clip.window"),
            ("camera = 'a/b'", "camera must not contain"),
            ("camera = \"a\\u0000b\"", "control characters"),
            ("[[outputs]]\ntype = 'mqtt'\nclient_id = \"a\\u0000\"", "client_id must not contain"),
            ("[[outputs]]\ntype = 'mqtt'\nclient_id = 'a/b'", "client_id must not contain"),
            ("[[outputs]]\ntype = 'mqtt'\nstate_confidence_step = 2", "state_confidence_step must be within"),
            ("camera = ''", "camera must not be empty"),
            ("[source]\ntype = 'replay'\npath = 'x.raw'\nformat = 'yuyv'", "width and source.height"),
        ] {
            let e = Config::parse(text, Path::new("c.toml")).expect_err(needle).to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}

#[cfg(test)]
mod key_paths {
    use super::*;

    #[test]
    fn errors_name_the_file_and_the_key_path() {
        let text = "[[outputs]]\ntype = 'stdout'\n[[outputs]]\ntype = 'mqtt'\nqos = 3";
        let e = Config::parse(text, Path::new("c.toml")).expect_err("qos 3").to_string();
        assert_eq!(e, "c.toml: outputs[1].qos must be 0, 1 or 2, got 3");
        let e = Config::parse("[tracking]\niou_threshold = 2", Path::new("c.toml")).expect_err("iou").to_string();
        assert_eq!(e, "c.toml: tracking.iou_threshold must be within 0..=1, got 2");
    }

    #[test]
    fn a_bad_pixel_format_is_a_config_error_not_a_source_error() {
        for (text, needle) in [
            ("[source]\ntype = 'v4l2'\nformat = 'H264'", "unknown pixel format \"H264\""),
            ("[source]\ntype = 'replay'\npath = 'x'\nformat = 'h264'", "unknown replay format \"h264\""),
        ] {
            match Config::parse(text, Path::new("c.toml")) {
                Err(e @ ConfigError::Parse { .. }) => assert!(e.to_string().contains(needle), "{e}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        let c = Config::parse("[source]\ntype = 'v4l2'\nformat = 'yuyv422'", Path::new("c.toml")).expect("ffmpeg's name");
        assert!(matches!(&c.source, SourceConfig::V4l2(v) if v.format == Some(crate::capture::convert::PixelFormat::Yuyv)));
        let c = Config::parse("[source]\ntype = 'v4l2'\nformat = ''", Path::new("c.toml")).expect("empty: any");
        assert!(matches!(&c.source, SourceConfig::V4l2(v) if v.format.is_none()));
    }

    #[test]
    fn the_deprecated_event_queue_is_still_accepted() {
        let c = Config::parse("[pipeline]\nevent_queue = 64", Path::new("old.toml")).expect("old configs load");
        assert_eq!(c.pipeline.event_queue, Some(64));
    }

    #[test]
    fn a_gpio_pin_for_a_class_the_descriptor_set_lacks_is_refused() {
        let text = "[[outputs]]\ntype = \"gpio\"\n[[outputs.pins]]\nline = 17\nexpression = \"hapy\"\n";
        let c = Config::parse(text, Path::new("g.toml")).expect("parses");
        let labels = ["neutral".to_owned(), "happy".to_owned()];
        let e = c.check_labels(&labels, Path::new("g.toml")).expect_err("typo").to_string();
        assert_eq!(e, "g.toml: outputs[0].pins[0].expression must be one of the descriptor set's classes (neutral, happy), got \"hapy\"");
        let ok = Config::parse(&text.replace("hapy", "happy"), Path::new("g.toml")).expect("parses");
        assert!(ok.check_labels(&labels, Path::new("g.toml")).is_ok());
    }
}
