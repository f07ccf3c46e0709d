// Package agent is bellhop's on-premise daemon: it connects to a hub (or to
// Mews) as an integration, follows the device commands of the devices it
// is configured for, runs each through the device's driver, and reports
// progress and the outcome.
//
// # The promise
//
// Every command for a configured device reaches a final state, and no
// device action that completed is repeated, across agent crashes, hub
// restarts and network cuts. Three parts carry it:
//
//   - The journal (journal.jsonl in the state directory) records, with an
//     fsync, "started" before a driver is called and "finished" with the
//     outcome right after it returns. A command the journal holds as
//     finished is never run again, whatever the hub says (a stale read
//     cannot bring it back). A command held as started but not finished
//     was interrupted by a crash mid-action: on the next start it becomes
//     Error with the note "interrupted, check the device", unless its
//     driver is Repeatable, in which case it runs again.
//   - The outbox sends state updates until the hub accepts them, with
//     backoff. The outcomes it owes are the journal's finished-but-not-
//     reported entries, so they survive crashes too. A 400 "Invalid State"
//     answer counts as accepted: the command is already final at the hub.
//   - The catch-up, on every (re)connect of the WebSocket and whenever
//     events are silent for PollInterval: getAllActive (all pages) finds
//     commands whose events were lost, and getAllByIds for what this
//     process holds and the journal has not closed finds cancellations.
//
// # Requests
//
// The agent spends the token's requests as if they cost something, because
// Mews and the hub allow 200 per AccessToken in 30 s: events that arrive
// together are fetched with one getAllByIds; an action that finishes within
// a second reports only its outcome; a longer one reports Processing once,
// then progress or the device's note at most every 5 s and only when it
// changed. Every request is paced within RateLimit per RateWindow, and a
// 429 holds every request of the token until its Retry-After.
//
// # Devices that cannot take a job
//
// A driver says when the device surely did not act (a refused connection,
// a paused queue, a queue that takes no jobs): the agent tries again with
// backoff, reporting the reason as a Processing note, until the device's
// give_up_after (default 2 minutes); then the command ends as Error with
// the last reason and the device's next command starts. What the device
// may have done is never sent again.
//
// # Order and parallelism
//
// Each configured device has one worker that runs its commands one at a
// time, oldest first (by CreatedUtc, then by the order the hub listed
// them); devices run in parallel. A command cancelled at the hub before it
// starts is skipped; a running one is aborted through its context, which
// drivers honour where the device allows it.
//
// Commands for devices without a configured driver are left alone (another
// integration may own them) and logged once per device. Note that reading
// them through getAllActive marks them Received at the hub, as for any
// integration connected to the device.
//
// # Stopping
//
// When Run's context ends, running actions get ShutdownGrace, then are
// cancelled at the device. An action the device confirmed it did not take
// (driver.NotDone: a print job the printer reports canceled before any
// impression, an attempt that never reached the device) is journalled as
// not done and runs again after the restart; only an action whose outcome
// is unknown stays "started" and becomes Error "interrupted, check the
// device" at the next start, as after a crash.
//
// # Operations
//
// The agent logs one info line per finished command, the first loss of the
// hub, a reminder at most every minute while it lasts, and the reconnect
// with the outage's length. It serves, on Config.Listen, /healthz (503
// when the journal cannot be written or the hub has been unreachable
// longer than UnreachableGrace), /readyz (200 only when connected, caught
// up and with an empty outbox) and /metrics (bellhop_agent_commands_total
// by device and outcome, bellhop_agent_driver_duration_seconds,
// bellhop_agent_connected, bellhop_agent_requests_total by operation and
// status, bellhop_agent_outbox_pending, bellhop_agent_commands_queued).
// Agent.Ready is closed once it is first connected and caught up.
// One agent owns a state directory at a time (flock, or LockFileEx on
// Windows, on state_dir/lock).
package agent
