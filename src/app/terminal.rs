//! Taking the terminal over and giving it back, also when something panics.

use std::io::{stdout, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, KeyEventKind};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;
use tokio::sync::mpsc::UnboundedSender;

use super::state::Event;
use super::AppError;

pub type Screen = Terminal<CrosstermBackend<Stdout>>;

static PANIC_HOOK: Once = Once::new();
/// The thread drawing the dashboard, while it owns the terminal.
static UI_THREAD: Mutex<Option<ThreadId>> = Mutex::new(None);

fn ui_thread() -> Option<ThreadId> {
    *UI_THREAD
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
}

/// Raw mode, alternate screen, mouse reporting; a panic hook that undoes them first,
/// so a panic message lands on a usable terminal.
pub fn enter() -> Result<Screen, AppError> {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            match ui_thread() {
                // A task elsewhere panicked (tokio keeps running): the dashboard goes on,
                // so the message goes to its log pane instead of over the screen.
                Some(ui) if ui != std::thread::current().id() => {
                    tracing::error!("a background task panicked: {info}");
                }
                _ => {
                    leave();
                    previous(info);
                }
            }
        }));
    });
    *UI_THREAD
        .lock()
        .unwrap_or_else(|poison| poison.into_inner()) = Some(std::thread::current().id());
    let setup = || -> std::io::Result<Screen> {
        enable_raw_mode()?;
        execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)?;
        Terminal::new(CrosstermBackend::new(stdout()))
    };
    setup().map_err(|err| {
        leave();
        AppError::Terminal(err)
    })
}

/// Puts `text` on the clipboard of the terminal (and of tmux, and over SSH) with an OSC 52
/// sequence; a terminal that does not know it ignores it.
pub fn copy_to_clipboard(out: &mut impl std::io::Write, text: &str) {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let _ = write!(out, "\x1b]52;c;{encoded}\x07");
    let _ = out.flush();
}

/// Gives the terminal back; safe to call more than once.
pub fn leave() {
    *UI_THREAD
        .lock()
        .unwrap_or_else(|poison| poison.into_inner()) = None;
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    );
}

/// Reads terminal events on a thread of its own (crossterm's reader blocks) and
/// forwards them to the event loop.
pub struct InputReader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl InputReader {
    pub fn spawn(events: UnboundedSender<Event>) -> InputReader {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("imds-spoof-input".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    // Polling with a timeout lets the thread notice `stop`.
                    match event::poll(Duration::from_millis(100)) {
                        Ok(false) => continue,
                        Ok(true) => {}
                        Err(_) => break,
                    }
                    let forwarded = match event::read() {
                        Ok(event::Event::Key(key)) if key.kind != KeyEventKind::Release => {
                            Some(Event::Key(key))
                        }
                        Ok(event::Event::Mouse(mouse)) => Some(Event::Mouse(mouse)),
                        Ok(event::Event::Resize(width, height)) => {
                            Some(Event::Resize(width, height))
                        }
                        Ok(_) => None,
                        Err(_) => break,
                    };
                    if let Some(event) = forwarded {
                        if events.send(event).is_err() {
                            break;
                        }
                    }
                }
            })
            .ok();
        InputReader { stop, thread }
    }

    /// Asks the reader to stop and waits for it briefly. When the terminal has gone away
    /// crossterm's read can spin without returning, so the thread is left to die with the
    /// process rather than joined forever.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let deadline = std::time::Instant::now() + Duration::from_millis(300);
            while !thread.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}
