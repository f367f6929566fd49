//! What Codex's rollout says about the turn. Codex appends every session
//! event to its rollout (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`,
//! the hooks' `transcript_path`), one JSON object a line:
//! `{"timestamp":..,"type":"event_msg"|"response_item"|..,"payload":{"type":..}}`.
//!
//! The hooks say almost everything (`Interrupt` for an interrupt, a denial
//! or Esc at a dialog; `Stop`; `PostToolUse` after a question's answer),
//! so the rollout is the backup for a hook that did not run, and the one
//! signal for a question Codex refused at once:
//!
//! - `event_msg` `turn_aborted` (any reason: Esc, Ctrl+C, "No, and tell
//!   Codex what to do differently", Esc at a question): the turn ended.
//! - `event_msg` `task_complete`: the turn ended (`Stop` says it too).
//! - `event_msg` `task_started`: a turn began.
//! - `response_item` `function_call_output` of `request_user_input`, its
//!   answer (`{"answers":..}`) or its refusal outside Plan mode
//!   (`request_user_input is unavailable in Default mode`, after which no
//!   hook fires until `Stop`): the question is gone and the model goes on.
//!   Other tools' results say nothing: a parallel call's result must not
//!   end an approval that is still open.
//!
//! A line is matched on its structure, not decoded: serde writes the
//! rollout's tag first (`"type":"event_msg","payload":{"type":..`) and a
//! JSON string holds no raw `"`, so these byte sequences occur only as
//! the line's own keys, never inside a prompt or a tool's output. A line
//! that matches must still be one JSON value. (Decoding costs `hb-write`,
//! which carries this table, more than it buys here.)

use crate::hooks::payload::check_json;
use crate::turn::Turn;

/// A line's start, after its `timestamp` and `ordinal`: what it says.
const EVENTS: &[(&str, Turn)] = &[
    (
        r#""type":"event_msg","payload":{"type":"turn_aborted","#,
        Turn::Ended,
    ),
    (
        r#""type":"event_msg","payload":{"type":"task_complete","#,
        Turn::Ended,
    ),
    (
        r#""type":"event_msg","payload":{"type":"task_started","#,
        Turn::Started,
    ),
];

/// A tool's result, and the starts of `request_user_input`'s: its answer,
/// its refusal outside Plan mode.
const OUTPUT: &str = r#""type":"response_item","payload":{"type":"function_call_output","#;
const QUESTION_GONE: &[&str] = &[
    r#""output":"{\"answers\":"#,
    r#""output":"request_user_input is unavailable"#,
];

/// What one rollout line says about the turn.
pub fn settle(line: &[u8]) -> Option<Turn> {
    let text = std::str::from_utf8(line).ok()?;
    let turn = match EVENTS.iter().find(|(at, _)| text.contains(at)) {
        Some(&(_, turn)) => turn,
        None if text.contains(OUTPUT) && QUESTION_GONE.iter().any(|o| text.contains(o)) => {
            Turn::Resumed
        }
        None => return None,
    };
    check_json(line).is_ok().then_some(turn)
}

#[cfg(test)]
mod tests {
    use super::*;

    // As Codex 0.171.0 wrote them in `make e2e` (an interrupt while the
    // model streamed, a question in Default mode, then one in Plan mode).
    const STARTED: &str = r#"{"timestamp":"2026-12-05T04:19:47.508Z","ordinal":1,"type":"event_msg","payload":{"type":"task_started","turn_attribution":{"turn_id":"01a2446d-f8ad-71e3-9bef-0cac5757607f","turn_trigger":"user","parent_turn_id":null,"initiating_agent_path":null,"root_turn_id":"01a2446d-f8ad-71e3-9bef-0cac5757607f"},"turn_id":"01a2446d-f8ad-71e3-9bef-0cac5757607f","root_turn_id":"01a2446d-f8ad-71e3-9bef-0cac5757607f","started_at":1796444387,"model_context_window":258400,"collaboration_mode_kind":"default"}}"#;
    const PROMPT: &str = r#"{"timestamp":"2026-12-05T04:19:47.615Z","ordinal":7,"type":"response_item","payload":{"type":"message","id":"msg_01a2446d-f91f-73b3-ab8e-7d0d09a0fc8b","role":"user","content":[{"type":"input_text","text":"hb-stall now"}],"internal_chat_message_metadata_passthrough":{"turn_id":"01a2446d-f8ad-71e3-9bef-0cac5757607f","create_time":1796444387.615431,"content_item_kinds":["user.text"],"content_item_metadata":[{"provenance":{"type":"user"}}]}},"metadata":{"history_sequence":3,"sampled_through_sequence":0,"retained_source":{"id":{"message_id":"msg_01a2446d-f91f-73b3-ab8e-7d0d09a0fc8b","turn_id":"01a2446d-f8ad-71e3-9bef-0cac5757607f","role":"user"},"revision":"retained_01a2446d-f91f-73b3-ab8e-7d1cdea31727","complete":true},"client_authored":false,"user_input_order":0,"mcp_attribution":{"status":"none"},"model_search_state":"unused"}}"#;
    const ABORTED: &str = r#"{"timestamp":"2026-12-05T04:19:49.564Z","ordinal":11,"type":"event_msg","payload":{"type":"turn_aborted","root_turn_id":"01a2446d-f8ad-71e3-9bef-0cac5757607f","turn_id":"01a2446d-f8ad-71e3-9bef-0cac5757607f","reason":"interrupted","started_at":1796444387,"completed_at":1796444389,"duration_ms":2058}}"#;
    const QUESTION: &str = r#"{"timestamp":"2026-12-05T04:19:51.378Z","ordinal":17,"type":"response_item","payload":{"type":"function_call","status":"completed","id":"fc_5","name":"request_user_input","arguments":"{\"questions\": [{\"id\": \"colour\", \"header\": \"Colour\", \"question\": \"Which colour should the hb e2e pick?\", \"options\": [{\"label\": \"Red\", \"description\": \"The first.\"}, {\"label\": \"Blue\", \"description\": \"The second.\"}]}]}","call_id":"call_6","internal_chat_message_metadata_passthrough":{"turn_id":"01a2446e-078d-77c3-ad64-c618c0ec9ccf"}},"metadata":{"history_sequence":6,"sampled_through_sequence":5,"client_authored":false,"user_input_order":2,"model_search_state":"unused"}}"#;
    const UNAVAILABLE: &str = r#"{"timestamp":"2026-12-05T04:19:51.410Z","ordinal":19,"type":"response_item","payload":{"type":"function_call_output","id":"fco_01a2446e-07f2-7dd0-b47d-dd4a74ab095c","call_id":"call_6","output":"request_user_input is unavailable in Default mode","internal_chat_message_metadata_passthrough":{"turn_id":"01a2446e-078d-77c3-ad64-c618c0ec9ccf","create_time":1796444391.4105392}},"metadata":{"history_sequence":7,"sampled_through_sequence":5,"client_authored":false,"fallback_token_limit_override":3000,"model_search_state":"unused"}}"#;
    const COMPLETE: &str = r#"{"timestamp":"2026-12-05T04:19:52.472Z","ordinal":25,"type":"event_msg","payload":{"type":"task_complete","root_turn_id":"01a2446e-078d-77c3-ad64-c618c0ec9ccf","turn_id":"01a2446e-078d-77c3-ad64-c618c0ec9ccf","last_agent_message":"Done: the tool ran.","started_at":1796444391,"completed_at":1796444392,"duration_ms":1156,"time_to_first_token_ms":62}}"#;
    const ANSWER: &str = r#"{"timestamp":"2026-12-05T04:19:55.884Z","ordinal":37,"type":"response_item","payload":{"type":"function_call_output","id":"fco_01a2446e-196b-7021-aa96-22bd1f59e1ce","call_id":"call_11","output":"{\"answers\":{\"colour\":{\"answers\":[\"Red\"]}}}","internal_chat_message_metadata_passthrough":{"turn_id":"01a2446e-14b5-7ac0-9207-d736d4be1430","create_time":1796444395.8839376}},"metadata":{"history_sequence":12,"sampled_through_sequence":10,"client_authored":false,"fallback_token_limit_override":3000,"model_search_state":"unused"}}"#;
    // A command interrupted while it ran (shortened).
    const CUT: &str = r#"{"timestamp":"2026-12-05T04:19:13.318Z","ordinal":22,"type":"response_item","payload":{"type":"function_call_output","id":"fco_1","call_id":"call_8","output":"Wall time: 3.9 seconds\naborted by user"}}"#;

    fn s(line: &str) -> Option<Turn> {
        settle(line.as_bytes())
    }

    #[test]
    fn an_aborted_turn_ended_and_a_new_one_started() {
        assert_eq!(s(ABORTED), Some(Turn::Ended));
        assert_eq!(s(COMPLETE), Some(Turn::Ended));
        assert_eq!(s(STARTED), Some(Turn::Started));
        // Every reason is an end (a new turn replacing it starts after).
        let replaced = ABORTED.replace("\"interrupted\"", "\"replaced\"");
        assert_eq!(s(&replaced), Some(Turn::Ended));
    }

    #[test]
    fn a_questions_answer_or_refusal_resumes_and_nothing_else_does() {
        assert_eq!(s(ANSWER), Some(Turn::Resumed));
        assert_eq!(s(UNAVAILABLE), Some(Turn::Resumed));
        assert_eq!(s(QUESTION), None);
        assert_eq!(s(PROMPT), None);
        assert_eq!(s(CUT), None);
    }

    #[test]
    fn words_in_the_wrong_place_or_broken_lines_say_nothing() {
        // The prompt quotes an event's name.
        let quoted = PROMPT.replace("hb-stall now", r#"say \"turn_aborted\""#);
        assert_eq!(s(&quoted), None);
        // A tool's output that quotes an answer is not one.
        let output = CUT.replace("by user", r#"by user {\"answers\":{}}"#);
        assert_eq!(s(&output), None);
        for bad in [
            "",
            "{",
            r#"{"type":"event_msg","payload":{"type":"turn_aborted","x":1"#,
            r#"{"type":"event_msg","payload":{"type":"turn_aborted","x":1}} x"#,
            r#"{"type":"event_msg","payload":"turn_aborted"}"#,
            r#"{"type":["event_msg"],"payload":{"type":"turn_aborted"}}"#,
            r#"{"type":"response_item","payload":{"type":"function_call_output","output":["{\"answers\":"]}}"#,
        ] {
            assert_eq!(s(bad), None, "{bad}");
        }
        assert_eq!(settle(b"\xff\"turn_aborted\""), None);
    }
}
