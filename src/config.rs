//! The `cliper run` configuration: one TOML file. Unknown keys are errors naming the key;
//! every field has a documented, named default, so a config holds only what differs.

use crate::align::{AlignOptions, DEFAULT_MARGIN, DEFAULT_SIZE};
use crate::model::config::ModelsConfig;
use crate::smooth::SmootherConfig;
use crate::track::TrackerConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name of this camera in events (and later in MQTT topics).
    #[serde(default = "default_camera")]
    pub camera: String,
    /// Where frames come from.
    #[serde(default = "default_source")]
    pub source: SourceConfig,
    /// Which models score the faces.
    #[serde(default)]
    pub models: ModelsConfig,
    /// Which backend runs the models: tract (default) or ONNX Runtime.
    #[serde(default)]
    pub inference: crate::infer::InferenceConfig,
    /// How faces are cut out for the encoder.
    #[serde(default)]
    pub align: AlignConfig,
    /// How faces are followed across frames.
    #[serde(default)]
    pub tracking: TrackingConfig,
    /// How a track's expression is stabilised.
    #[serde(default)]
    pub smoothing: SmoothingConfig,
    /// Clip-level (dynamic FER) scoring.
    #[serde(default)]
    pub clip: ClipConfig,
    /// Queues, statistics.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// Where events go: `[[outputs]]` tables, each with a `type`; several at once. Unset:
    /// one `stdout` sink.
    #[serde(default = "default_outputs")]
    pub outputs: Vec<OutputConfig>,
}

fn default_outputs() -> Vec<OutputConfig> {
    vec![OutputConfig::Stdout(StdoutOutput {})]
}

/// An event sink, chosen by `type`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutputConfig {
    /// JSON lines on standard output.
    Stdout(StdoutOutput),
    /// An MQTT broker (docs/mqtt.md lists every topic). Boxed: it is much the largest.
    Mqtt(Box<MqttOutput>),
    /// GPIO output lines driven by expressions.
    Gpio(GpioOutput),
}

impl OutputConfig {
    /// The sink's name in logs and drop counters.
    pub fn name(&self) -> &'static str {
        match self {
            OutputConfig::Stdout(_) => "stdout",
            OutputConfig::Mqtt(_) => "mqtt",
            OutputConfig::Gpio(_) => "gpio",
        }
    }
}

/// The `stdout` sink has no settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutOutput {}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttOutput {
    /// Broker host name or address.
    #[serde(default = "default_mqtt_host")]
    pub host: String,
    /// Broker port (1883 plain, usually 8883 with TLS).
    #[serde(default = "default_mqtt_port")]
    pub port: u16,
    /// MQTT client id; also the Home Assistant node id.
    #[serde(default = "default_mqtt_client_id")]
    pub client_id: String,
    /// User name; unset: anonymous.
    #[serde(default)]
    pub username: Option<String>,
    /// File holding the password (trailing newline ignored). Never logged.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Name of a systemd credential (`LoadCredential=`): the password is read from
    /// `$CREDENTIALS_DIRECTORY/<name>`.
    #[serde(default)]
    pub password_credential: Option<String>,
    /// TLS to the broker; unset: plain TCP.
    #[serde(default)]
    pub tls: Option<MqttTls>,
    /// Seconds between keep-alive pings; the broker fires the last will after 1.5 times
    /// this without traffic. 0 turns keep-alive off.
    #[serde(default = "default_keep_alive_s")]
    pub keep_alive_s: u64,
    /// QoS of every publish: 0, 1 or 2.
    #[serde(default = "default_qos")]
    pub qos: u8,
    /// First level of every cliper topic.
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    /// Events kept while the broker is unreachable; when full, the oldest `change` goes
    /// first, then the oldest event of any type.
    #[serde(default = "default_outage_queue")]
    pub outage_queue: usize,
    /// Publish Home Assistant discovery configs.
    #[serde(default)]
    pub discovery: bool,
    /// Home Assistant's discovery prefix.
    #[serde(default = "default_discovery_prefix")]
    pub discovery_prefix: String,
}

fn default_mqtt_host() -> String {
    "localhost".into()
}
fn default_mqtt_port() -> u16 {
    1883
}
fn default_mqtt_client_id() -> String {
    "cliper".into()
}
fn default_keep_alive_s() -> u64 {
    30
}
fn default_qos() -> u8 {
    1
}
fn default_topic_prefix() -> String {
    "cliper".into()
}
fn default_outage_queue() -> usize {
    1000
}
fn default_discovery_prefix() -> String {
    "homeassistant".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttTls {
    /// PEM file with the CA certificate(s) the broker's certificate must chain to.
    pub ca_file: PathBuf,
    /// PEM client certificate, for brokers that require one (needs `key_file`).
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpioOutput {
    /// `chardev` (the Linux GPIO character device: Pi, Jetson, any board) or `rppal`
    /// (Raspberry Pi only, needs a cliper built with the `rppal` feature; `line` is then
    /// the BCM GPIO number and `chip` is ignored).
    #[serde(default = "default_gpio_backend")]
    pub backend: GpioBackend,
    /// GPIO character device, e.g. `/dev/gpiochip0`.
    #[serde(default = "default_gpio_chip")]
    pub chip: PathBuf,
    /// Active means low on the wire (relays that switch on low).
    #[serde(default)]
    pub active_low: bool,
    /// One table per output line.
    #[serde(default)]
    pub pins: Vec<GpioPinConfig>,
}

/// How GPIO lines are driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpioBackend {
    Chardev,
    Rppal,
}

fn default_gpio_backend() -> GpioBackend {
    GpioBackend::Chardev
}

fn default_gpio_chip() -> PathBuf {
    "/dev/gpiochip0".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpioPinConfig {
    /// Line offset on the chip.
    pub line: u32,
    /// The expression that drives it (a class label such as `happy`).
    pub expression: String,
    /// 0: active while any face shows the expression; otherwise a pulse this long each
    /// time a face starts showing it.
    #[serde(default)]
    pub pulse_ms: u64,
}

fn default_camera() -> String {
    "camera".into()
}

fn default_source() -> SourceConfig {
    SourceConfig::Images(ImagesSource { path: default_images_path(), fps: default_images_fps(), repeat: false })
}

/// A frame source, chosen by `type`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// Still images (a file or a directory, sorted), played as a video.
    Images(ImagesSource),
    /// A recorded stream: concatenated JPEG frames (MJPEG) or raw frames.
    Replay(ReplaySource),
    /// A V4L2 camera.
    V4l2(V4l2Source),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagesSource {
    /// Image file or directory (searched recursively for .jpg, .jpeg, .png).
    #[serde(default = "default_images_path")]
    pub path: PathBuf,
    /// Frames per second the images are played at (timestamps are `index / fps`).
    #[serde(default = "default_images_fps")]
    pub fps: f64,
    /// Start again after the last image instead of ending.
    #[serde(default)]
    pub repeat: bool,
}

fn default_images_path() -> PathBuf {
    PathBuf::from("samples")
}
fn default_images_fps() -> f64 {
    15.0
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaySource {
    /// The recording.
    pub path: PathBuf,
    /// `mjpeg` (concatenated JPEG frames) or a raw pixel format: `yuyv`, `nv12`, `grey`, `rgb3`.
    #[serde(default = "default_replay_format")]
    pub format: String,
    /// Frame width, for raw formats.
    #[serde(default)]
    pub width: u32,
    /// Frame height, for raw formats.
    #[serde(default)]
    pub height: u32,
    /// Frames per second of the recording.
    #[serde(default = "default_images_fps")]
    pub fps: f64,
    /// Play at `fps` in real time; off, as fast as the pipeline takes frames.
    #[serde(default)]
    pub realtime: bool,
}

fn default_replay_format() -> String {
    "mjpeg".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V4l2Source {
    /// Device path (`/dev/video0`) or the card name `cliper devices` shows.
    #[serde(default = "default_device")]
    pub device: String,
    /// Requested width; the driver may pick the nearest it supports.
    #[serde(default = "default_width")]
    pub width: u32,
    /// Requested height.
    #[serde(default = "default_height")]
    pub height: u32,
    /// Requested frame rate.
    #[serde(default = "default_v4l2_fps")]
    pub fps: u32,
    /// Pixel format (`MJPG`, `YUYV`, `NV12`, `GREY`, `RGB3`); empty: the first the camera
    /// offers in that order.
    #[serde(default)]
    pub format: String,
    /// A frame wait longer than this counts as the camera being lost (milliseconds); it is
    /// then reopened with backoff.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    2000
}

fn default_device() -> String {
    "/dev/video0".into()
}
fn default_width() -> u32 {
    640
}
fn default_height() -> u32 {
    480
}
fn default_v4l2_fps() -> u32 {
    15
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlignConfig {
    /// Margin around the detected box, as a fraction of its size.
    #[serde(default = "default_margin")]
    pub margin: f32,
    /// Rotate faces so the eyes are level.
    #[serde(default = "default_true")]
    pub rotate: bool,
}

fn default_margin() -> f32 {
    DEFAULT_MARGIN
}
fn default_true() -> bool {
    true
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig { margin: default_margin(), rotate: true }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingConfig {
    /// Minimum IoU between a track's predicted box and a detection.
    #[serde(default = "default_iou")]
    pub iou_threshold: f32,
    /// Without overlap, follow a face whose centre moved less than this many box sizes.
    #[serde(default = "default_center_distance")]
    pub max_center_distance: f32,
    /// A face unseen for this long ends its track (milliseconds).
    #[serde(default = "default_max_age_ms")]
    pub max_age_ms: u64,
}

fn default_iou() -> f32 {
    TrackerConfig::default().iou_threshold
}
fn default_center_distance() -> f32 {
    TrackerConfig::default().max_center_distance
}
fn default_max_age_ms() -> u64 {
    TrackerConfig::default().max_age.as_millis() as u64
}

impl Default for TrackingConfig {
    fn default() -> Self {
        TrackingConfig { iou_threshold: default_iou(), max_center_distance: default_center_distance(), max_age_ms: default_max_age_ms() }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmoothingConfig {
    /// Half-life of the probability average (milliseconds).
    #[serde(default = "default_half_life_ms")]
    pub half_life_ms: u64,
    /// How far a new expression must lead the current one to replace it.
    #[serde(default = "default_switch_margin")]
    pub switch_margin: f32,
    /// How long it must keep that lead (milliseconds).
    #[serde(default = "default_min_dwell_ms")]
    pub min_dwell_ms: u64,
}

fn default_half_life_ms() -> u64 {
    SmootherConfig::default().half_life.as_millis() as u64
}
fn default_switch_margin() -> f32 {
    SmootherConfig::default().switch_margin
}
fn default_min_dwell_ms() -> u64 {
    SmootherConfig::default().min_dwell.as_millis() as u64
}

impl Default for SmoothingConfig {
    fn default() -> Self {
        SmoothingConfig {
            half_life_ms: default_half_life_ms(),
            switch_margin: default_switch_margin(),
            min_dwell_ms: default_min_dwell_ms(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipConfig {
    /// Frames of a track averaged for the clip-level (dynamic FER) result.
    #[serde(default = "default_clip_window")]
    pub window: usize,
}

fn default_clip_window() -> usize {
    16
}

impl Default for ClipConfig {
    fn default() -> Self {
        ClipConfig { window: default_clip_window() }
    }
}

/// What happens when inference falls behind capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FramePolicy {
    /// Keep only the newest frame; older unprocessed frames are dropped and counted. For
    /// cameras: latency stays one frame.
    FreshestWins,
    /// Capture waits for inference; nothing is dropped. For files and replays.
    Block,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Frame hand-off policy between capture and inference; unset: `freshest_wins` for
    /// cameras, `block` for files.
    #[serde(default)]
    pub frames: Option<FramePolicy>,
    /// Events waiting for the output; beyond this, new events are dropped and counted.
    #[serde(default = "default_event_queue")]
    pub event_queue: usize,
    /// Seconds between statistics lines; 0 turns them off.
    #[serde(default = "default_stats_interval")]
    pub stats_interval_s: f64,
    /// Events waiting for each output; a slow output drops (and counts) beyond this
    /// without holding up the others.
    #[serde(default = "default_output_queue")]
    pub output_queue: usize,
}

fn default_output_queue() -> usize {
    256
}

fn default_event_queue() -> usize {
    256
}
fn default_stats_interval() -> f64 {
    10.0
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            frames: None,
            event_queue: default_event_queue(),
            stats_interval_s: default_stats_interval(),
            output_queue: default_output_queue(),
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_owned(), reason: e.to_string() })?;
        c.validate(path)?;
        Ok(c)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |reason: &str| Err(ConfigError::Invalid { path: path.to_owned(), reason: reason.to_owned() });
        let fps_ok = |f: f64| f.is_finite() && f > 0.0;
        match &self.source {
            SourceConfig::Images(s) if !fps_ok(s.fps) => return bad("source.fps must be positive"),
            SourceConfig::Replay(s) if !fps_ok(s.fps) => return bad("source.fps must be positive"),
            SourceConfig::Replay(s) if s.format != "mjpeg" && (s.width == 0 || s.height == 0) => {
                return bad("source.width and source.height are needed for raw replay formats")
            }
            SourceConfig::V4l2(s) if s.width == 0 || s.height == 0 || s.fps == 0 => {
                return bad("source.width, source.height and source.fps must be positive")
            }
            _ => {}
        }
        if !(0.0..=1.0).contains(&self.tracking.iou_threshold) {
            return bad("tracking.iou_threshold must be within 0..1");
        }
        if self.smoothing.switch_margin < 0.0 {
            return bad("smoothing.switch_margin must not be negative");
        }
        if self.clip.window == 0 || self.clip.window > 1024 {
            return bad("clip.window must be within 1..1024");
        }
        if self.pipeline.event_queue == 0 {
            return bad("pipeline.event_queue must be at least 1");
        }
        if self.pipeline.stats_interval_s.is_nan() || self.pipeline.stats_interval_s < 0.0 {
            return bad("pipeline.stats_interval_s must not be negative");
        }
        if self.camera.is_empty() || self.camera.contains(['/', '#', '+']) {
            return bad("camera must be a non-empty name without '/', '#' or '+'");
        }
        if self.pipeline.output_queue == 0 {
            return bad("pipeline.output_queue must be at least 1");
        }
        if self.outputs.is_empty() {
            return bad("outputs: at least one output (events would go nowhere)");
        }
        if self.outputs.iter().filter(|o| matches!(o, OutputConfig::Stdout(_))).count() > 1 {
            return bad("outputs: at most one stdout output");
        }
        for o in &self.outputs {
            match o {
                OutputConfig::Mqtt(m) => {
                    if m.qos > 2 {
                        return bad("outputs.qos must be 0, 1 or 2");
                    }
                    if m.keep_alive_s > u64::from(u16::MAX) {
                        // MQTT carries it in 16 bits.
                        return bad("outputs.keep_alive_s must be within 0..65535");
                    }
                    if m.outage_queue == 0 {
                        return bad("outputs.outage_queue must be at least 1");
                    }
                    if m.password_file.is_some() && m.password_credential.is_some() {
                        return bad("outputs: set password_file or password_credential, not both");
                    }
                    let bad_topic = |t: &str| t.is_empty() || t.contains(['#', '+']) || t.starts_with('/') || t.ends_with('/');
                    if bad_topic(&m.topic_prefix) || bad_topic(&m.discovery_prefix) {
                        return bad("outputs.topic_prefix and discovery_prefix must be non-empty topics without '#', '+' or edge '/'");
                    }
                    if let Some(t) = &m.tls {
                        if t.cert_file.is_some() != t.key_file.is_some() {
                            return bad("outputs.tls: cert_file and key_file go together");
                        }
                    }
                }
                OutputConfig::Gpio(g) => {
                    if g.pins.is_empty() {
                        return bad("outputs: a gpio output needs at least one [[outputs.pins]]");
                    }
                    let mut lines: Vec<u32> = g.pins.iter().map(|p| p.line).collect();
                    lines.sort_unstable();
                    if lines.windows(2).any(|w| w[0] == w[1]) {
                        return bad("outputs.pins: a line may drive only one expression");
                    }
                }
                OutputConfig::Stdout(_) => {}
            }
        }
        Ok(())
    }

    pub fn tracker(&self) -> TrackerConfig {
        TrackerConfig {
            iou_threshold: self.tracking.iou_threshold,
            max_center_distance: self.tracking.max_center_distance,
            max_age: Duration::from_millis(self.tracking.max_age_ms),
        }
    }

    pub fn smoother(&self) -> SmootherConfig {
        SmootherConfig {
            half_life: Duration::from_millis(self.smoothing.half_life_ms),
            switch_margin: self.smoothing.switch_margin,
            min_dwell: Duration::from_millis(self.smoothing.min_dwell_ms),
        }
    }

    pub fn align_options(&self) -> AlignOptions {
        AlignOptions { margin: self.align.margin, size: DEFAULT_SIZE, rotate: self.align.rotate }
    }

    /// The frame policy in force.
    pub fn frame_policy(&self) -> FramePolicy {
        self.pipeline.frames.unwrap_or(match self.source {
            SourceConfig::V4l2(_) => FramePolicy::FreshestWins,
            SourceConfig::Replay(ReplaySource { realtime: true, .. }) => FramePolicy::FreshestWins,
            _ => FramePolicy::Block,
        })
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
        assert_eq!(d.outputs, default_outputs());
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
            ("[source]\ntype = 'images'\nfps = 0", "fps must be positive"),
            ("[clip]\nwindow = 0", "clip.window"),
            ("camera = 'a/b'", "camera must be"),
            ("[source]\ntype = 'replay'\npath = 'x.raw'\nformat = 'yuyv'", "width and source.height"),
        ] {
            let e = Config::parse(text, Path::new("c.toml")).expect_err(needle).to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
