//! Science file names and where they belong.
//!
//! The grammar (after the mission's SDC tooling; every part separated by `_`):
//!
//! ```text
//! {mission}_{instrument}[_{mode}]_{level}[test][_{descriptor}]_{time}_v{version}.{extension}
//! ```
//!
//! - `mission`: the configured mission, any case;
//! - `instrument`: a configured instrument name or one of its aliases, any case;
//! - `level`: one of [`LEVELS`], any case, optionally suffixed with `test`;
//! - `time`: `YYYYDDD-HHMMSS` (day of year, level-0 packet files) or `YYYYMMDDTHHMMSS`;
//! - `version`: digits separated by dots (`01`, `1.0.0`);
//! - `mode` and `descriptor`: optional words of ASCII letters, digits and `-`.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};

/// Data levels a file name may carry (lower case).
pub const LEVELS: &[&str] = &["raw", "l0", "l1", "ql", "l2", "l3", "l4"];

/// The level the processor takes as input.
pub const PROCESSOR_INPUT_LEVEL: &str = "l0";

/// Longest file name the parser looks at, in bytes (an S3 key is at most 1024).
pub const MAX_FILE_NAME_BYTES: usize = 1024;

/// One instrument: its canonical name (used in bucket names) and the aliases file names may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    /// Canonical lower-case name, e.g. `nemisis`.
    pub name: String,
    /// Other lower-case names accepted in file names, e.g. `nms`.
    pub aliases: Vec<String>,
}

impl Instrument {
    fn matches(&self, word: &str) -> bool {
        self.name.eq_ignore_ascii_case(word)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(word))
    }
}

/// The mission and instruments file names must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRules {
    mission: String,
    instruments: Vec<Instrument>,
}

/// Why a file name does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty, too long, or containing `/` or control characters.
    #[error("not a plain file name ({0})")]
    NotAFileName(&'static str),
    /// No `.extension` after the version.
    #[error("no file extension")]
    NoExtension,
    /// Fewer or more `_`-separated parts than the grammar allows.
    #[error(
        "expected {{mission}}_{{instrument}}[_{{mode}}]_{{level}}[_{{descriptor}}]_{{time}}_v{{version}}.{{ext}}; got {0} parts"
    )]
    Shape(usize),
    /// The first part is not the configured mission.
    #[error("mission {found:?} is not {expected:?}")]
    Mission {
        /// What the name says.
        found: String,
        /// The configured mission.
        expected: String,
    },
    /// The second part is no configured instrument.
    #[error("instrument {found:?} is not one of {known}")]
    Instrument {
        /// What the name says.
        found: String,
        /// The configured instruments, comma separated.
        known: String,
    },
    /// No known data level where one must be.
    #[error("{found:?} is not a data level (one of {})", LEVELS.join(", "))]
    Level {
        /// What the name says.
        found: String,
    },
    /// An optional word (mode or descriptor) with characters other than letters, digits, `-`.
    #[error("{found:?} is not a valid mode or descriptor (ASCII letters, digits and '-')")]
    Word {
        /// What the name says.
        found: String,
    },
    /// The time part is neither form, or not a real date and time.
    #[error("{found:?} is not a time (YYYYDDD-HHMMSS or YYYYMMDDTHHMMSS)")]
    Time {
        /// What the name says.
        found: String,
    },
    /// The version part is not `v` followed by dot-separated digits.
    #[error("{found:?} is not a version (v followed by dot-separated digits, e.g. v01 or v1.0.0)")]
    Version {
        /// What the name says.
        found: String,
    },
}

/// A parsed science file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScienceFile {
    /// The file name as given.
    pub name: String,
    /// The configured mission (lower case).
    pub mission: String,
    /// The instrument's canonical name (lower case), whatever alias or case the name used.
    pub instrument: String,
    /// Instrument mode, when present.
    pub mode: Option<String>,
    /// Data level, lower case, without a `test` suffix.
    pub level: String,
    /// Whether the level carried the `test` suffix.
    pub test: bool,
    /// Descriptor, when present.
    pub descriptor: Option<String>,
    /// Observation time (UTC).
    pub time: NaiveDateTime,
    /// Version, without the leading `v`.
    pub version: String,
    /// File extension, without the dot.
    pub extension: String,
}

impl ScienceFile {
    /// The bucket this file belongs in: `{prefix}{mission}-{instrument}`.
    pub fn bucket(&self, prefix: &str) -> String {
        format!("{prefix}{}-{}", self.mission, self.instrument)
    }

    /// The key this file belongs at: `{level}/{YYYY}/{MM}/{DD}/{name}`.
    pub fn key(&self) -> String {
        let d = self.time.date();
        format!(
            "{}/{:04}/{:02}/{:02}/{}",
            self.level,
            d.year(),
            d.month(),
            d.day(),
            self.name
        )
    }
}

impl NameRules {
    /// Rules for `mission` and `instruments` (names are compared case-insensitively).
    ///
    /// The mission must be lower-case ASCII letters, digits or `-`; every instrument name and
    /// alias lower-case letters and digits; names and aliases must not repeat.
    pub fn new(mission: &str, instruments: Vec<Instrument>) -> Result<Self, String> {
        let mission = mission.trim().to_ascii_lowercase();
        let bucket_word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        };
        if !bucket_word(&mission) || mission.starts_with('-') {
            return Err(format!(
                "mission {mission:?} must be lower-case ASCII letters, digits or '-' (it becomes part of bucket names)"
            ));
        }
        if instruments.is_empty() {
            return Err("at least one instrument is required".into());
        }
        let mut seen: Vec<&str> = Vec::new();
        for inst in &instruments {
            for word in std::iter::once(&inst.name).chain(&inst.aliases) {
                if word.is_empty()
                    || !word
                        .bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                {
                    return Err(format!(
                        "instrument name {word:?} must be lower-case ASCII letters and digits"
                    ));
                }
                if seen.contains(&word.as_str()) {
                    return Err(format!("instrument name {word:?} appears twice"));
                }
                seen.push(word);
            }
        }
        Ok(Self {
            mission,
            instruments,
        })
    }

    /// Parse `name[:alias[:alias...]],...` (e.g. `eea,nemisis:nms,merit,spani`).
    pub fn parse_instruments(list: &str) -> Result<Vec<Instrument>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| {
                let mut words = entry.split(':').map(|w| w.trim().to_ascii_lowercase());
                let name = words.next().unwrap_or_default();
                if name.is_empty() {
                    return Err(format!("{entry:?} has no instrument name"));
                }
                Ok(Instrument {
                    name,
                    aliases: words.collect(),
                })
            })
            .collect()
    }

    /// The configured mission.
    pub fn mission(&self) -> &str {
        &self.mission
    }

    /// The configured instruments.
    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// Parse a file name (no directory part). Never panics, whatever the input.
    pub fn parse(&self, name: &str) -> Result<ScienceFile, NameError> {
        let (stem, extension) = split_extension(name)?;
        let parts: Vec<&str> = stem.split('_').collect();
        // mission, instrument, level, time, version, plus at most mode and descriptor.
        if !(5..=7).contains(&parts.len()) {
            return Err(NameError::Shape(parts.len()));
        }
        let n = parts.len();
        if !parts[0].eq_ignore_ascii_case(&self.mission) {
            return Err(NameError::Mission {
                found: parts[0].into(),
                expected: self.mission.clone(),
            });
        }
        let instrument = self.instrument(parts[1])?;
        let version = parse_version(parts[n - 1])?;
        let time = parse_time(parts[n - 2]).ok_or_else(|| NameError::Time {
            found: parts[n - 2].into(),
        })?;
        let middle = parse_middle(&parts[2..n - 2])?;
        Ok(ScienceFile {
            name: name.into(),
            mission: self.mission.clone(),
            instrument: instrument.name.clone(),
            mode: middle.mode.map(str::to_owned),
            level: middle.level,
            test: middle.test,
            descriptor: middle.descriptor.map(str::to_owned),
            time,
            version: version.into(),
            extension: extension.into(),
        })
    }

    /// The instrument `word` names (its name or an alias, any case).
    fn instrument(&self, word: &str) -> Result<&Instrument, NameError> {
        self.instruments
            .iter()
            .find(|i| i.matches(word))
            .ok_or_else(|| NameError::Instrument {
                found: word.into(),
                known: self
                    .instruments
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// The words between the instrument and the time: `[mode_]level[test][_descriptor]`.
struct Middle<'a> {
    mode: Option<&'a str>,
    level: String,
    test: bool,
    descriptor: Option<&'a str>,
}

/// A file name's stem and extension, after the checks on the whole name.
fn split_extension(name: &str) -> Result<(&str, &str), NameError> {
    if name.is_empty() {
        return Err(NameError::NotAFileName("empty"));
    }
    if name.len() > MAX_FILE_NAME_BYTES {
        return Err(NameError::NotAFileName("too long"));
    }
    if name.contains('/') {
        return Err(NameError::NotAFileName("contains '/'"));
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::NotAFileName("contains control characters"));
    }
    let (stem, extension) = name.rsplit_once('.').ok_or(NameError::NoExtension)?;
    if extension.is_empty() || !extension.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(NameError::NoExtension);
    }
    Ok((stem, extension))
}

/// The version digits of `word` (`v01`, `V1.0.0`: a `v` and dot-separated numbers).
fn parse_version(word: &str) -> Result<&str, NameError> {
    word.strip_prefix(['v', 'V'])
        .filter(|v| {
            v.split('.')
                .all(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
        })
        .ok_or_else(|| NameError::Version { found: word.into() })
}

/// Mode, level and descriptor from the one to three words between instrument and time.
fn parse_middle<'a>(words: &[&'a str]) -> Result<Middle<'a>, NameError> {
    let (mode, level_word, descriptor) = match words {
        [level] => (None, *level, None),
        [first, second] => match level_of(first) {
            Some(_) => (None, *first, Some(*second)),
            None => (Some(*first), *second, None),
        },
        [mode, level, descriptor] => (Some(*mode), *level, Some(*descriptor)),
        // Only reached with 5..=7 parts, so one to three middle words; the shape error names
        // the part count as the caller's check does.
        _ => return Err(NameError::Shape(words.len() + 4)),
    };
    let (level, test) = level_of(level_word).ok_or_else(|| NameError::Level {
        found: level_word.into(),
    })?;
    for word in mode.iter().chain(descriptor.iter()) {
        if word.is_empty() || !word.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            return Err(NameError::Word {
                found: (*word).into(),
            });
        }
    }
    Ok(Middle {
        mode,
        level,
        test,
        descriptor,
    })
}

impl fmt::Display for NameRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mission {}, instruments ", self.mission)?;
        for (i, inst) in self.instruments.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&inst.name)?;
            for a in &inst.aliases {
                write!(f, ":{a}")?;
            }
        }
        Ok(())
    }
}

/// `(level, test)` when `word` is a known level, optionally suffixed with `test`.
fn level_of(word: &str) -> Option<(String, bool)> {
    let lower = word.to_ascii_lowercase();
    let (base, test) = match lower.strip_suffix("test") {
        Some(base) => (base.to_owned(), true),
        None => (lower, false),
    };
    LEVELS.contains(&base.as_str()).then_some((base, test))
}

fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn hms(s: &str) -> Option<NaiveTime> {
    if s.len() != 6 {
        return None;
    }
    NaiveTime::from_hms_opt(
        number(s.get(0..2)?)?,
        number(s.get(2..4)?)?,
        number(s.get(4..6)?)?,
    )
}

/// `YYYYDDD-HHMMSS` or `YYYYMMDDTHHMMSS`, as a real UTC date and time.
fn parse_time(s: &str) -> Option<NaiveDateTime> {
    if let Some((date, time)) = s.split_once('-') {
        if date.len() != 7 {
            return None;
        }
        let year = i32::try_from(number(date.get(0..4)?)?).ok()?;
        let day = NaiveDate::from_yo_opt(year, number(date.get(4..7)?)?)?;
        return Some(day.and_time(hms(time)?));
    }
    let (date, time) = s.split_once('T')?;
    if date.len() != 8 {
        return None;
    }
    let year = i32::try_from(number(date.get(0..4)?)?).ok()?;
    let day = NaiveDate::from_ymd_opt(year, number(date.get(4..6)?)?, number(date.get(6..8)?)?)?;
    Some(day.and_time(hms(time)?))
}

/// The last `/`-separated segment of an S3 key.
pub fn file_name_of(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}
