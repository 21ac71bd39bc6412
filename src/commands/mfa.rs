//! `imds-spoof mfa CODE`: hands an MFA code to the running `up`, `serve` or dashboard over
//! its private control socket. The code is spent on one GetSessionToken there; every role
//! waiting on that device is then assumed with the session.

use std::io::Write;

use crate::cli::MfaArgs;
use crate::session::{send_control, ControlRequest};

pub async fn run(args: &MfaArgs) -> anyhow::Result<()> {
    let request = ControlRequest {
        mfa_code: args.code.trim().to_string(),
        serial: args.serial.clone(),
    };
    let answers = send_control(&request)
        .await
        .map_err(|err| anyhow::anyhow!("cannot reach a running imds-spoof: {err}"))?;
    if answers.is_empty() {
        anyhow::bail!("no imds-spoof is running (start `imds-spoof up`, `serve` or the dashboard)");
    }
    let mut stdout = std::io::stdout().lock();
    let mut accepted = false;
    let mut reasons = Vec::new();
    for (_, answer) in answers {
        match answer {
            Ok(answer) if answer.ok => {
                accepted = true;
                let _ = writeln!(stdout, "{}", answer.message.unwrap_or_default());
            }
            Ok(answer) => reasons.push(answer.error.unwrap_or_default()),
            Err(reason) => reasons.push(reason),
        }
    }
    if accepted {
        return Ok(());
    }
    reasons.dedup();
    anyhow::bail!("{}", reasons.join("; "))
}
