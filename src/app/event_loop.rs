//! The dashboard's loop: terminal input, the broker's exchange stream, session news
//! and a clock tick are merged into one stream of events; the screen is redrawn from
//! the state, at most once a frame.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::broker::{ExchangeRecord, RecordStream, Recorder, StreamError};
use crate::config::ConfigStore;

use super::runtime::{FromSession, RunOptions, SessionTask};
use super::state::{App, Event};
use super::terminal::{self, InputReader, Screen};
use super::theme;
use super::{ui, AppError};

/// Shortest time between two draws (about 60 frames a second).
const FRAME: Duration = Duration::from_millis(16);
/// The clock and messages move on this often.
const TICK: Duration = Duration::from_millis(250);
/// Events handled between two draws at most, so a flood cannot starve the screen.
const BATCH: usize = 4_096;

/// Runs the dashboard until the user quits; the terminal is restored in every case.
pub async fn run(store: ConfigStore, options: RunOptions) -> Result<(), AppError> {
    let mut screen = terminal::enter()?;
    let outcome = drive(&mut screen, store, options).await;
    terminal::leave();
    outcome
}

/// The exchange stream of the broker in force, if one runs.
struct Exchanges {
    recorder: Option<Arc<Recorder>>,
    stream: Option<RecordStream>,
}

impl Exchanges {
    async fn next(&mut self) -> Result<Arc<ExchangeRecord>, StreamError> {
        match &mut self.stream {
            Some(stream) => stream.recv().await,
            None => std::future::pending().await,
        }
    }

    /// Follows a (new) recorder, taking what it already holds.
    fn follow(&mut self, recorder: Arc<Recorder>, app: &mut App) {
        if self
            .recorder
            .as_ref()
            .is_some_and(|old| Arc::ptr_eq(old, &recorder))
        {
            return;
        }
        if self.recorder.is_some() {
            app.follow_new_recorder();
        }
        self.stream = Some(recorder.subscribe());
        catch_up(&recorder, app);
        self.recorder = Some(recorder);
    }

    fn handle(&mut self, received: Result<Arc<ExchangeRecord>, StreamError>, app: &mut App) {
        match received {
            Ok(record) => app.handle(Event::Exchange(record)),
            // The stream dropped some: the recorder's ring still has them.
            Err(StreamError::Missed(_)) => {
                if let Some(recorder) = &self.recorder {
                    catch_up(recorder, app);
                }
            }
            Err(StreamError::Closed) => self.stream = None,
            Err(StreamError::Empty) => {}
        }
    }

    fn try_next(&mut self) -> Option<Result<Arc<ExchangeRecord>, StreamError>> {
        match self.stream.as_mut()?.try_recv() {
            Err(StreamError::Empty) => None,
            received => Some(received),
        }
    }
}

/// The terminal went away (window closed): quit cleanly rather than die with the proxy up.
async fn hangup() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut hangup) = signal(SignalKind::hangup()) {
            hangup.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await;
}

fn catch_up(recorder: &Recorder, app: &mut App) {
    let seen = app.exchanges().last_id();
    for record in recorder.snapshot() {
        if record.id > seen {
            app.handle(Event::Exchange(record));
        }
    }
}

fn on_session(message: FromSession, app: &mut App, exchanges: &mut Exchanges) {
    match message {
        FromSession::Update(update) => app.handle(Event::Session(update)),
        FromSession::Recorder(recorder) => exchanges.follow(recorder, app),
    }
}

async fn drive(
    screen: &mut Screen,
    store: ConfigStore,
    options: RunOptions,
) -> Result<(), AppError> {
    let (input_tx, mut input) = mpsc::unbounded_channel();
    let reader = InputReader::spawn(input_tx);
    let mut session = SessionTask::spawn(store.clone(), options);
    let mut app = App::new(store, OffsetDateTime::now_utc());
    app.set_monochrome(theme::monochrome_wanted());
    if let Ok(size) = screen.size() {
        app.set_size(size.width, size.height);
    }
    let mut exchanges = Exchanges {
        recorder: None,
        stream: None,
    };
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let stop = async {
        tokio::select! {
            _ = crate::session::stop_requested() => {}
            _ = hangup() => {}
        }
    };
    tokio::pin!(stop);
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;

    let result = loop {
        if dirty && last_draw.elapsed() >= FRAME {
            if let Err(err) = screen.draw(|frame| ui::draw(frame, &app)) {
                break Err(AppError::Terminal(err));
            }
            last_draw = Instant::now();
            dirty = false;
        }
        tokio::select! {
            event = input.recv() => match event {
                Some(event) => {
                    if let Event::Resize(..) = event {
                        let _ = screen.autoresize();
                    }
                    app.handle(event);
                }
                // The terminal cannot be read any more: nobody can press q.
                None => app.update(super::Action::Quit),
            },
            Some(message) = session.next() => on_session(message, &mut app, &mut exchanges),
            received = exchanges.next() => exchanges.handle(received, &mut app),
            _ = ticker.tick() => {
                if let Some(recorder) = &exchanges.recorder {
                    app.set_log_dropped(recorder.log_dropped());
                }
                app.handle(Event::Tick(OffsetDateTime::now_utc()));
            }
            _ = &mut stop => app.update(super::Action::Quit),
            _ = tokio::time::sleep_until(last_draw + FRAME), if dirty => {}
        }
        dirty = true;
        // Take what else is ready before drawing again.
        for _ in 0..BATCH {
            let mut progressed = false;
            if let Ok(event) = input.try_recv() {
                app.handle(event);
                progressed = true;
            }
            if let Some(received) = exchanges.try_next() {
                exchanges.handle(received, &mut app);
                progressed = true;
            }
            if let Some(message) = session.try_next() {
                on_session(message, &mut app, &mut exchanges);
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        for effect in app.take_effects() {
            session.send(effect);
        }
        if let Some(text) = app.take_clipboard() {
            terminal::copy_to_clipboard(screen.backend_mut(), &text);
        }
        if app.should_quit() {
            break Ok(());
        }
    };

    app.set_stopping();
    let _ = screen.draw(|frame| ui::draw(frame, &app));
    session.shutdown().await;
    reader.stop();
    result
}
