//! [`ScriptedModel`]: a [`ChatModel`] that replays replies written in
//! advance, a test double for the agent loop.

use std::cell::RefCell;
use std::collections::VecDeque;

use crate::chat::{ChatModel, ChatRequest, FinishReason, Reply};
use crate::{Error, Result};

/// A "model" that answers the n-th request with the n-th reply of a script
/// and keeps every request it got.
///
/// An agent's behaviour depends on what the model writes; a script fixes
/// that, so tests are deterministic (and fast) and a notebook can show the
/// loop's mechanics (a failing tool, a malformed step, the step limit)
/// before a real model makes them happen by chance. Like a model, it ends a
/// reply before the request's first stop string.
#[derive(Debug, Default)]
pub struct ScriptedModel {
    replies: RefCell<VecDeque<String>>,
    requests: RefCell<Vec<ChatRequest>>,
}

impl ScriptedModel {
    /// A model that will reply `replies`, in order, one per request.
    pub fn new<S: Into<String>>(replies: impl IntoIterator<Item = S>) -> ScriptedModel {
        ScriptedModel {
            replies: RefCell::new(replies.into_iter().map(Into::into).collect()),
            requests: RefCell::default(),
        }
    }

    /// The requests received so far, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.borrow().clone()
    }

    /// How many replies are left.
    pub fn remaining(&self) -> usize {
        self.replies.borrow().len()
    }
}

impl ChatModel for ScriptedModel {
    fn name(&self) -> String {
        "scripted".into()
    }

    /// The next reply of the script, cut before the first stop string; an
    /// error once the script is used up.
    fn complete_stream(
        &self,
        request: &ChatRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Reply> {
        self.requests.borrow_mut().push(request.clone());
        let Some(mut text) = self.replies.borrow_mut().pop_front() else {
            return Err(Error::InvalidArgument(format!(
                "ScriptedModel: request {} came after the last reply of the script",
                self.requests.borrow().len()
            )));
        };
        let cut = request
            .stop
            .iter()
            .filter(|stop| !stop.is_empty())
            .filter_map(|stop| text.find(stop.as_str()))
            .min();
        if let Some(at) = cut {
            text.truncate(at);
        }
        on_text(&text);
        Ok(Reply {
            text,
            finish_reason: FinishReason::Stop,
            usage: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    #[test]
    fn replies_in_order_cut_at_stop_strings_and_records_requests() {
        let model = ScriptedModel::new(["one\nObservation: two", "three"]);
        let request = ChatRequest::new(vec![Message::user("hi")]).stop(["Observation:"]);
        let mut streamed = String::new();
        let reply = model
            .complete_stream(&request, &mut |piece| streamed.push_str(piece))
            .unwrap();
        assert_eq!((reply.text.as_str(), streamed.as_str()), ("one\n", "one\n"));
        assert_eq!(
            model.complete(&ChatRequest::new(vec![])).unwrap().text,
            "three"
        );
        assert_eq!(model.remaining(), 0);
        let err = model.complete(&request).unwrap_err().to_string();
        assert!(err.contains("request 3 came after the last reply"), "{err}");
        let requests = model.requests();
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[0], request);
    }
}
