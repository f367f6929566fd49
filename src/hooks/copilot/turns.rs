//! What Copilot CLI's events file says about the turn. The session's
//! `events.jsonl` (see [`super::events`]) gets, within 0.1 s of the key,
//! what no hook reports:
//!
//! - `abort`: the turn ended: Esc Esc (`"reason":"user_abort"`), Ctrl+C
//!   (`"user_initiated"`), Esc at a permission dialog (after it, that
//!   dialog's `permission.completed` says `cancelled`).
//! - `permission.completed`: a permission dialog closed. `cancelled`
//!   ended the turn; any other result (`approved`, a denial,
//!   `denied-interactively-by-user`, after which the model goes on until
//!   agentStop) lets the model go on.
//! - `human_response.recorded`: the operator answered `ask_user`.
//! - `user.message`: a prompt, a new turn.
//!
//! A line is matched on its structure, not decoded: Copilot writes each
//! event's `type` first and its `result`'s `kind` first, and a JSON string
//! holds no raw `"`, so these byte sequences occur only as the line's own
//! keys, never inside a prompt or a tool's output. A line that matches
//! must still be one JSON value. (Decoding costs `hb-write`, which carries
//! this table, more than it buys here.)

use crate::hooks::payload::check_json;
use crate::turn::Turn;

/// A line's start: what it says.
const EVENTS: &[(&str, Turn)] = &[
    (r#"{"type":"abort","#, Turn::Ended),
    (r#"{"type":"permission.completed","#, Turn::Resumed),
    (r#"{"type":"human_response.recorded","#, Turn::Resumed),
    (r#"{"type":"user.message","#, Turn::Started),
];

/// In `permission.completed`: the dialog was cancelled (Esc), which ended
/// the turn; any other result lets the model go on.
const CANCELLED: &str = r#""result":{"kind":"cancelled""#;

/// What one line of the events file says about the turn.
pub fn settle(line: &[u8]) -> Option<Turn> {
    let &(start, turn) = EVENTS
        .iter()
        .find(|(start, _)| line.starts_with(start.as_bytes()))?;
    let turn = match turn {
        Turn::Resumed if start.contains("permission") => {
            let text = std::str::from_utf8(line).ok()?;
            if !text.contains(r#""result":{"kind":""#) {
                return None;
            }
            if text.contains(CANCELLED) {
                Turn::Ended
            } else {
                Turn::Resumed
            }
        }
        turn => turn,
    };
    check_json(line).is_ok().then_some(turn)
}

#[cfg(test)]
mod tests {
    use super::*;

    // As Copilot CLI 1.0.102 wrote them in `make e2e`.
    const USER_MESSAGE: &str = r#"{"type":"user.message","data":{"content":"hb-stall now","transformedContent":"<current_datetime>2026-12-05T04:20:50.893+00:00</current_datetime>\n\nhb-stall now","messageId":"559086de-b5d9-4898-8b55-4453540e424a","supportedNativeDocumentMimeTypes":[],"delivery":"idle","interactionId":"4446c63f-f999-46d6-b49f-50f84a6bbaa4","turnId":"0","parentAgentTaskId":"c8c7fc61-8544-49a5-bea9-811e686d50ad"},"id":"06c0ac8d-4b3e-4cf4-869b-8c557e762313","timestamp":"2026-12-05T04:20:50.906Z","parentId":"eeebcd38-332a-4af4-904c-cac7dda96375"}"#;
    const TURN_END: &str = r#"{"type":"assistant.turn_end","data":{"turnId":"0"},"id":"91267dd2-c2ff-46f4-aeab-eb1bd8371d49","timestamp":"2026-12-05T04:20:52.791Z","parentId":"79c44abe-fdd7-44f4-94cb-6c9396f8b5be"}"#;
    const ABORT_USER_INITIATED: &str = r#"{"type":"abort","data":{"reason":"user_initiated"},"id":"2a50c341-2a9a-4498-9153-95aec5a9c965","timestamp":"2026-12-05T04:20:52.792Z","parentId":"91267dd2-c2ff-46f4-aeab-eb1bd8371d49"}"#;
    const PERMISSION_REQUESTED: &str = r#"{"type":"permission.requested","data":{"requestId":"4f38d068-7cfb-4944-bba7-f06f44e0f9ff","permissionRequest":{"kind":"shell","toolCallId":"call_3","fullCommandText":"touch hb-e2e-tool-ran","shellType":"bash","intention":"Running command","commands":[{"identifier":"touch","readOnly":false,"allowMatchIdentifier":null}],"commandSegments":[{"identifier":"touch","fullCommandText":"touch hb-e2e-tool-ran","allowMatchIdentifier":null,"staticTokens":["touch","hb-e2e-tool-ran"],"hasUnboundExecutableContent":false,"workingDirectory":"/tmp/hb-e2e-drive-copilot-dgwuy2g7/work"}],"possiblePaths":["hb-e2e-tool-ran"],"canOfferSessionApproval":true,"hasWriteFileRedirection":false,"possibleUrls":[]},"promptRequest":{"kind":"commands","fullCommandText":"touch hb-e2e-tool-ran","intention":"Running command","commandIdentifiers":["touch"],"canOfferSessionApproval":true,"toolCallId":"call_3"},"agentMode":"interactive","permissionMode":"manual","ownerSessionId":"70213089-c8b4-4368-ad8e-d616ba5f5aef"},"id":"d91f3d83-45e7-4bca-a68a-ec6a13b03f43","timestamp":"2026-12-05T04:20:55.633Z","parentId":"fc665273-6294-46ad-93de-39c4844fc898"}"#;
    const PERMISSION_CANCELLED: &str = r#"{"type":"permission.completed","data":{"requestId":"4f38d068-7cfb-4944-bba7-f06f44e0f9ff","toolCallId":"call_3","result":{"kind":"cancelled","reason":"Session aborted"}},"id":"25503bed-76ef-4996-ab1f-5d0f387592ee","timestamp":"2026-12-05T04:20:56.755Z","parentId":"9d7674a5-8c0e-4afc-a480-c01e60269817"}"#;
    const PERMISSION_APPROVED: &str = r#"{"type":"permission.completed","data":{"requestId":"4078d12d-efe5-4f0d-8777-e18404d98695","toolCallId":"call_5","result":{"kind":"approved"},"decisionSource":"human_response"},"id":"f0ef05aa-f8bb-4473-982d-b22f0d913fa8","timestamp":"2026-12-05T04:21:00.951Z","parentId":"c7e2c054-ce60-48df-9cc5-5d1a4929edb4"}"#;
    const QUESTION_CANCELLED: &str = r#"{"type":"tool.execution_complete","data":{"toolCallId":"call_8","model":"hb-mock-model","interactionId":"7de78016-1bf7-4f63-b058-17aa62bc4e1c","turnId":"0","rte":false,"success":true,"result":{"content":"User cancelled the request."},"toolTelemetry":{"properties":{"elicitation_action":"cancel","elicitation_field_types":"[\"enum\"]"},"metrics":{"elicitation_field_count":1,"context_token_limit":128000.0,"context_current_tokens":12573.0,"large_output_threshold_bytes":20480.0,"result_token_count":5}}},"id":"ac68e5ed-0004-46bb-b765-68b0d51e97a7","timestamp":"2026-12-05T04:21:06.797Z","parentId":"9d9544ae-0468-4e58-bd41-106004a13107"}"#;
    const PERMISSION_DENIED_INTERACTIVELY_BY_USER: &str = r#"{"type":"permission.completed","data":{"requestId":"c98d9580-5024-4f95-b0a7-fbf55cba59da","toolCallId":"call_2","result":{"kind":"denied-interactively-by-user","feedback":"do not"},"decisionSource":"human_response"},"id":"a98f1a8a-b5d3-446a-9bd2-ac69329219f8","timestamp":"2026-12-05T04:18:47.258Z","parentId":"0153dc71-4dfe-4a31-8c4f-c91bc0719e29"}"#;
    const ABORT_USER_ABORT: &str = r#"{"type":"abort","data":{"reason":"user_abort"},"id":"a8dc3339-8398-43c3-b311-b04a9369f4c5","timestamp":"2026-12-05T04:16:46.483Z","parentId":"bebadffd-409b-490e-bffb-e5ee87fcd512"}"#;
    const ANSWERED: &str = r#"{"type":"human_response.recorded","data":{"requestId":"7d388d8b-3fcc-4ed3-951f-d5899d7982e5","toolCallId":"call_2","actor":"human_response","response":{"responseKind":"ask_user","content":{"colour":"Red"},"message":"Which colour should the hb e2e pick?","requestedSchema":{"type":"object","properties":{"colour":{"type":"string","title":"Colour","enum":["Red","Blue"]}}}}},"id":"2d87c8f1-c7ff-4440-b4c3-cd07a4e50705","timestamp":"2026-12-05T04:17:30.194Z","parentId":"2109b9d8-0b06-4300-8bde-3a997fd099d2"}"#;

    fn s(line: &str) -> Option<Turn> {
        settle(line.as_bytes())
    }

    #[test]
    fn an_abort_or_a_cancelled_dialog_ends_the_turn() {
        assert_eq!(s(ABORT_USER_ABORT), Some(Turn::Ended));
        assert_eq!(s(ABORT_USER_INITIATED), Some(Turn::Ended));
        assert_eq!(s(PERMISSION_CANCELLED), Some(Turn::Ended));
    }

    #[test]
    fn an_answered_dialog_resumes_and_a_prompt_starts() {
        assert_eq!(
            s(PERMISSION_DENIED_INTERACTIVELY_BY_USER),
            Some(Turn::Resumed)
        );
        assert_eq!(s(PERMISSION_APPROVED), Some(Turn::Resumed));
        assert_eq!(s(ANSWERED), Some(Turn::Resumed));
        assert_eq!(s(USER_MESSAGE), Some(Turn::Started));
    }

    #[test]
    fn other_lines_say_nothing() {
        assert_eq!(s(PERMISSION_REQUESTED), None);
        assert_eq!(s(TURN_END), None);
        // ask_user cancelled with Esc: the model goes on, its hooks say so.
        assert_eq!(s(QUESTION_CANCELLED), None);
        // A prompt that quotes an event is a prompt.
        let quoted = USER_MESSAGE.replace("run the tool", r#"{\"type\":\"abort\"}"#);
        assert_eq!(s(&quoted), Some(Turn::Started));
        for bad in [
            "",
            r#"{"type":"abort""#,
            r#"{"type":"abort","data":"#,
            r#"{"type":"abort","data":{}}}"#,
            r#"{"type":"permission.completed","data":{"result":{"kind":7}}}"#,
            r#"{"type":"permission.completed","data":{}}"#,
            r#"{"type":"abortive","data":{}}"#,
            r#" {"type":"abort","data":{}}"#,
        ] {
            assert_eq!(s(bad), None, "{bad}");
        }
        assert_eq!(settle(b"{\"type\":\"abort\",\"x\":\"\xff\"}"), None);
    }
}
