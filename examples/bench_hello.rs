//! The ceiling for scripts/bench-serve.sh: the least an axum server can do per request.
//!
//! `bench_hello PORT` serves `GET /` -> "hello" on 127.0.0.1:PORT with plain
//! `axum::serve` (HTTP/1), on a runtime built exactly as the imds-spoof binary builds
//! its own (`tokio::runtime::Runtime::new()`: multi-threaded, one worker per core), so
//! the difference measured against `imds-spoof serve` is our request path, not setup.
//! It prints `bench_hello serving on http://ADDR` once listening and runs until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::routing::get;
use axum::Router;

fn main() -> ExitCode {
    let port = match std::env::args().nth(1).map(|arg| arg.parse::<u16>()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: bench_hello PORT");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("bench_hello: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result: std::io::Result<()> = runtime.block_on(async move {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let app = Router::new().route("/", get(|| async { "hello" }));
        let mut stdout = std::io::stdout();
        writeln!(
            stdout,
            "bench_hello serving on http://{}",
            listener.local_addr()?
        )?;
        stdout.flush()?;
        axum::serve(listener, app).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench_hello: {err}");
            ExitCode::FAILURE
        }
    }
}
