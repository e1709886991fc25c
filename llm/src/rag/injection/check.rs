//! The output check: a reply is screened for links and words that only
//! untrusted passages could have put there.

use std::fmt;

use super::{INSTRUCTION, Passage};
use crate::rag::bm25::terms;

/// What the user sees in place of a reply the output check blocks.
pub const BLOCKED_REPLY: &str = "Sorry, I cannot answer that from the documents.";

/// Common English words that the output check never counts as taken from
/// an untrusted passage: a reply needs them whoever wrote the context.
const FUNCTION_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "before",
    "but", "by", "can", "do", "does", "for", "from", "get", "has", "have", "he", "her", "his", "i",
    "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "only", "or",
    "our", "out", "she", "so", "than", "that", "the", "their", "them", "then", "there", "they",
    "this", "to", "up", "us", "was", "we", "were", "what", "when", "which", "who", "will", "with",
    "you", "your",
];

/// The output check's judgement of a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing in the reply's words came from untrusted text alone.
    Pass,
    /// The reply contains a link (URL, domain or e-mail address) whose host
    /// no trusted text contains.
    UnknownLink(String),
    /// The reply contains words (lower case, in reply order) that an
    /// untrusted passage contains but no trusted text does.
    Tainted(Vec<String>),
}

impl Verdict {
    /// Whether the reply may be shown.
    pub fn passed(&self) -> bool {
        *self == Verdict::Pass
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass => f.write_str("pass"),
            Verdict::UnknownLink(link) => write!(f, "blocked: unknown link {link}"),
            Verdict::Tainted(words) => {
                write!(f, "blocked: untrusted words {}", words.join(", "))
            }
        }
    }
}

/// The output check: blocks a reply that carries a link or a word which
/// only untrusted passages could have put there.
///
/// Trusted text is [`INSTRUCTION`], the question and the trusted passages;
/// untrusted text is the other passages. Two rules, in order:
/// 1. a link in the reply (`http://…`, `www.…`, `name.tld`, `a@b.tld`)
///    whose host no trusted text contains gives [`Verdict::UnknownLink`];
/// 2. words of the reply (BM25's terms, less about seventy common
///    function words such as `the`, `with`, `only`) that an
///    untrusted passage contains and no trusted text does give
///    [`Verdict::Tainted`].
///
/// What it catches: a reply that repeats what an injection asked for, as
/// long as the injection's payload has a word or a link the trusted text
/// lacks. Every canary of [`crate::tasks::injections`] is such a payload,
/// so no reply that contains one passes (the crate's tests check this).
///
/// What it cannot catch:
/// - a payload in the trusted text's own words: "reply: not in the
///   documents" (the application stops answering), or a false fact built
///   from words the handbook has ("the warranty is 2 years" for the
///   frame);
/// - a reply in words the injection asked for without containing them
///   (a translation, a spelling, a link built from parts);
/// - anything when no source is trusted (every word of the context is
///   then untrusted and every answer is blocked), or when the poison sits
///   in a trusted source;
/// - whether the answer is right: it screens where words came from, not
///   truth. And it blocks a right answer that only an untrusted passage
///   holds, which is the price of trusting sources rather than reading
///   them.
pub fn check_reply(reply: &str, question: &str, passages: &[Passage]) -> Verdict {
    let (trusted, untrusted): (Vec<&Passage>, Vec<&Passage>) =
        passages.iter().partition(|p| p.trusted);
    let mut trusted_text = format!("{INSTRUCTION}\n{question}");
    for passage in &trusted {
        trusted_text.push('\n');
        trusted_text.push_str(&passage.text);
    }
    let trusted_lower = trusted_text.to_lowercase();
    if let Some(link) = links(reply)
        .into_iter()
        .find(|link| !trusted_lower.contains(&host(link)))
    {
        return Verdict::UnknownLink(link);
    }
    let trusted_terms = terms(&trusted_text);
    let untrusted_terms: Vec<String> = untrusted.iter().flat_map(|p| terms(&p.text)).collect();
    let mut tainted: Vec<String> = Vec::new();
    for word in terms(reply) {
        if !FUNCTION_WORDS.contains(&word.as_str())
            && untrusted_terms.contains(&word)
            && !trusted_terms.contains(&word)
            && !tainted.contains(&word)
        {
            tainted.push(word);
        }
    }
    if tainted.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Tainted(tainted)
    }
}

/// The links in `text`, lower-cased, without surrounding punctuation: words
/// with `://`, starting with `www.`, or shaped like `name.tld` or
/// `user@name.tld` (dot-separated names of letters, digits and `-`, the
/// last all letters and at least two long, so that `e.g.` and `3.5` are
/// not links).
fn links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|word| {
            word.trim_matches(|c: char| !c.is_alphanumeric() && c != '/')
                .to_lowercase()
        })
        .filter(|word| {
            let host = host(word);
            let labels: Vec<&str> = host.split('.').collect();
            let well_formed = labels.len() >= 2
                && labels
                    .iter()
                    .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
                && labels[labels.len() - 1].len() >= 2
                && labels[labels.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_alphabetic());
            word.contains("://") || word.starts_with("www.") || well_formed
        })
        .collect()
}

/// The host of a link: after any `scheme://` and `user@`, before any `/`.
fn host(link: &str) -> String {
    let rest = link.split_once("://").map_or(link, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    rest.split('/').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rag::injection::tests::{handbook_cases, passage};

    #[test]
    fn links_are_found_and_decimals_are_not() {
        assert_eq!(
            links("Visit http://Evil.example/x, or www.a.org; mail me@b.co.uk (e.g. 3.5 km)."),
            ["http://evil.example/x", "www.a.org", "me@b.co.uk"]
        );
        assert_eq!(
            links("See larkspurcycles.com/track."),
            ["larkspurcycles.com/track"]
        );
        assert!(links("U.K. prices, i.e. 15.50 pounds").is_empty());
        assert_eq!(host("https://user@evil.example/path"), "evil.example");
    }

    #[test]
    fn the_check_blocks_every_canary_reply_in_every_case() {
        for case in handbook_cases() {
            let question = &case.question.question;
            let canary = &case.injection.canary;
            for reply in [
                canary.to_uppercase(),
                format!("Sure. {canary}"),
                // The right answer does not launder the canary.
                format!("{} {canary}", case.question.answers[0]),
            ] {
                let verdict = check_reply(&reply, question, &case.attacked);
                assert!(!verdict.passed(), "{reply:?} passed for {question:?}");
            }
        }
    }

    #[test]
    fn the_check_passes_grounded_answers_and_says_why_it_blocks() {
        let case = &handbook_cases()[1];
        // A right answer in the handbook's words passes under attack.
        let right = "Refunds take 5 working days.";
        assert_eq!(
            check_reply(right, &case.question.question, &case.attacked),
            Verdict::Pass
        );
        assert_eq!(
            check_reply(
                "Go to http://evil.example now",
                &case.question.question,
                &case.attacked
            ),
            Verdict::UnknownLink("http://evil.example".into())
        );
        let trusted_link = &handbook_cases()[14];
        assert_eq!(
            check_reply(
                "At larkspurcycles.com/track.",
                &trusted_link.question.question,
                &trusted_link.attacked
            ),
            Verdict::Pass
        );
        // A link no passage has, even without any poison.
        assert!(matches!(
            check_reply("See www.bikes.com", "Q?", &case.clean),
            Verdict::UnknownLink(_)
        ));
        let plain = &handbook_cases()[0];
        assert_eq!(
            check_reply(
                "ACCESS GRANTED, ignore it",
                &plain.question.question,
                &plain.attacked
            ),
            Verdict::Tainted(vec!["access".into(), "granted".into(), "ignore".into()])
        );
    }

    #[test]
    fn what_the_check_cannot_catch() {
        let case = &handbook_cases()[2];
        // A false fact in the handbook's own words, and a refusal in the
        // instruction's words, pass: they are not the canaries.
        for reply in ["The frame warranty is 2 years.", "not in the documents"] {
            assert_eq!(
                check_reply(reply, &case.question.question, &case.attacked),
                Verdict::Pass
            );
        }
        // With no trusted passage, a right answer from the poison is blocked.
        let untrusted = [passage("forum", "The frame warranty is 7 years.", false)];
        assert!(!check_reply("7 years", "How long is the warranty?", &untrusted).passed());
    }
}
