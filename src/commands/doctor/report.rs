//! How `doctor` prints its checks: one line each, `ok`, `warn` or `FAIL`, counted.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Ok,
    Warn,
    Fail,
}

pub(super) struct Report {
    pub(super) failures: usize,
}

impl Report {
    pub(super) fn line(&mut self, level: Level, check: &str, text: impl AsRef<str>) {
        let tag = match level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => {
                self.failures += 1;
                "FAIL"
            }
        };
        println!("{tag}  {check:<14} {}", text.as_ref());
    }
}
