//! Structured output: a reply that is a JSON document valid for a JSON
//! Schema, enforced while the model writes it (grammar-constrained
//! decoding).
//!
//! Asking nicely ("answer in JSON with the keys ...") leaves a small model
//! free to add prose, forget a quote or invent a key. Constrained decoding
//! removes the choice: before each token is drawn, every token whose bytes
//! could not continue a valid document is given a logit of minus infinity.
//! The model still chooses *what* to say, among the tokens the grammar
//! allows, and once the document is complete only end-of-text remains.
//!
//! - [`schema_for`] derives the schema from a Rust type (`#[derive(JsonSchema)]`,
//!   crate [`schemars`]), so the reply parses straight into that type.
//! - [`JsonGrammar`] compiles a schema into a byte-level recogniser.
//! - [`JsonConstraint`] masks a model's logits step by step;
//!   [`crate::Llm::generate_json`] runs it.
//!
//! The grammar covers what structured output needs: objects (properties in
//! schema order, optional ones may be left out), arrays (`minItems`,
//! `maxItems`), strings (`maxLength`), integers (`minimum`, `maximum`, and
//! the range of a `format` such as `uint32`), numbers (no `-` when
//! `minimum >= 0`), booleans, null, `enum`, `const`, `anyOf` / `oneOf`, type
//! lists such as `["string", "null"]`, and `$ref` into `$defs`. Keywords it
//! cannot enforce (`pattern`, recursive `$ref`) are an error, never silently
//! ignored. Output is compact: no whitespace except one optional space
//! after `:` and `,`.
//!
//! ```no_run
//! use aiguide_llm::schemars::JsonSchema;
//! use aiguide_llm::structured::{JsonGrammar, schema_for};
//! use aiguide_llm::{GenerateConfig, Llm};
//!
//! #[derive(serde::Deserialize, JsonSchema)]
//! struct Sentiment {
//!     label: Label,
//! }
//! #[derive(serde::Deserialize, JsonSchema)]
//! #[serde(rename_all = "lowercase")]
//! enum Label {
//!     Positive,
//!     Negative,
//! }
//!
//! let llm = Llm::course(tch::Kind::Float)?;
//! let grammar = JsonGrammar::from_schema(&schema_for::<Sentiment>())?;
//! let prompt = "Review: a delight from start to finish.\nJSON: ";
//! let out = llm.generate_json(prompt, &GenerateConfig::default(), &grammar, &mut |_| {})?;
//! let parsed: Sentiment = serde_json::from_str(&out.text).expect("the grammar guarantees it");
//! # Ok::<(), aiguide_llm::Error>(())
//! ```

use serde_json::Value;

use crate::tokenize::Tokenizer;
use crate::{Error, Result};

/// The JSON Schema of `T` (from its `#[derive(JsonSchema)]`), as JSON.
pub fn schema_for<T: schemars::JsonSchema>() -> Value {
    schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .into()
}

/// Most digits in a number's integer or fraction part, and in an exponent:
/// enough for the precision of an `f64` and within its range, and a bound on
/// how long a model can go on.
const MAX_DIGITS: u8 = 17;
const MAX_EXPONENT_DIGITS: u8 = 2;
/// Properties of one object and values of one `enum` are tracked as bits of
/// a `u64`.
const MAX_CHOICES: usize = 64;

/// One compiled schema node; nodes refer to each other by index.
#[derive(Clone, Debug)]
enum Node {
    /// Properties in schema order: JSON-encoded key (without quotes), value
    /// node, required.
    Object(Vec<(Vec<u8>, usize, bool)>),
    Array {
        items: usize,
        min: usize,
        max: usize,
    },
    String {
        max_chars: usize,
    },
    /// Exact JSON texts, one of which must appear (enum, const, booleans, null).
    Literals(Vec<Vec<u8>>),
    /// A number with a fraction or exponent allowed.
    Number {
        signed: bool,
    },
    /// An integer within `min..=max` (JSON Schema's `minimum`, `maximum`).
    Integer {
        min: i64,
        max: i64,
    },
    AnyOf(Vec<usize>),
}

/// A JSON Schema compiled into a recogniser of the compact JSON documents it
/// accepts, byte by byte.
#[derive(Clone, Debug)]
pub struct JsonGrammar {
    nodes: Vec<Node>,
    root: usize,
}

impl JsonGrammar {
    /// Compiles `schema`; an error names the keyword or value that cannot be
    /// enforced.
    pub fn from_schema(schema: &Value) -> Result<JsonGrammar> {
        let mut compiler = Compiler {
            document: schema,
            nodes: Vec::new(),
            open_refs: Vec::new(),
        };
        let root = compiler.compile(schema, "#")?;
        Ok(JsonGrammar {
            nodes: compiler.nodes,
            root,
        })
    }

    /// The recogniser before the first byte.
    pub fn start(&self) -> ParseState {
        ParseState {
            stacks: vec![vec![Frame::Value {
                node: self.root,
                spaced: false,
            }]],
        }
    }

    /// Whether `text` is a whole document the grammar accepts (compact form).
    pub fn accepts(&self, text: &str) -> bool {
        self.advance(&self.start(), text.as_bytes())
            .is_some_and(|s| self.can_end(&s))
    }

    /// Whether the bytes that led to `state` are a whole document.
    pub fn can_end(&self, state: &ParseState) -> bool {
        state.stacks.iter().any(|s| match s.as_slice() {
            [] => true,
            [number] => self.complete(number),
            _ => false,
        })
    }

    /// Whether `frame` is a number that may end here (a number has no
    /// closing byte: it ends where something else begins).
    fn complete(&self, frame: &Frame) -> bool {
        match *frame {
            Frame::Number { part, digits, .. } => {
                digits > 0
                    && matches!(
                        part,
                        NumberPart::Zero | NumberPart::Int | NumberPart::Frac | NumberPart::Exp
                    )
            }
            Frame::Integer {
                node,
                negative,
                digits,
                magnitude,
            } => {
                let (min, max) = self.integer_range(node);
                let value = i128::from(magnitude) * if negative { -1 } else { 1 };
                digits > 0 && (min..=max).contains(&value)
            }
            _ => false,
        }
    }

    /// The bounds of the integer node `node`, wide enough to negate.
    fn integer_range(&self, node: usize) -> (i128, i128) {
        let Node::Integer { min, max } = self.nodes[node] else {
            unreachable!("integer frames point at integer nodes")
        };
        (i128::from(min), i128::from(max))
    }

    /// The state after `bytes`, or `None` if no valid document starts so.
    pub fn advance(&self, state: &ParseState, bytes: &[u8]) -> Option<ParseState> {
        let mut stacks = state.stacks.clone();
        for &b in bytes {
            let mut next = Vec::new();
            for stack in stacks {
                self.step(stack, b, &mut next);
            }
            next.sort_unstable();
            next.dedup();
            if next.is_empty() {
                return None;
            }
            stacks = next;
        }
        Some(ParseState { stacks })
    }

    /// Feeds byte `b` to one stack, pushing every stack it can lead to
    /// (none when `b` is not allowed, several where `anyOf` or an `enum`
    /// leaves a choice open).
    fn step(&self, mut stack: Vec<Frame>, b: u8, out: &mut Vec<Vec<Frame>>) {
        let Some(top) = stack.pop() else {
            return; // the document is complete: nothing may follow
        };
        match top {
            Frame::Value { node, spaced } => {
                if b == b' ' && !spaced {
                    stack.push(Frame::Value { node, spaced: true });
                    return out.push(stack);
                }
                let frame = match &self.nodes[node] {
                    Node::Object(_) if b == b'{' => Frame::Object {
                        node,
                        next: 0,
                        phase: ObjectPhase::Open,
                    },
                    Node::Array { .. } if b == b'[' => Frame::Array {
                        node,
                        count: 0,
                        phase: ArrayPhase::Open,
                    },
                    Node::String { max_chars } if b == b'"' => Frame::Str {
                        max_chars: *max_chars,
                        chars: 0,
                        escape: Escape::None,
                    },
                    Node::Literals(options) => {
                        stack.push(Frame::Literal {
                            node,
                            alive: all_bits(options.len()),
                            pos: 0,
                        });
                        return self.step(stack, b, out);
                    }
                    Node::Number { signed } => {
                        stack.push(Frame::Number {
                            signed: *signed,
                            part: NumberPart::Start,
                            digits: 0,
                        });
                        return self.step(stack, b, out);
                    }
                    Node::Integer { .. } => {
                        stack.push(Frame::Integer {
                            node,
                            negative: false,
                            digits: 0,
                            magnitude: 0,
                        });
                        return self.step(stack, b, out);
                    }
                    Node::AnyOf(branches) => {
                        for &branch in branches {
                            let mut fork = stack.clone();
                            fork.push(Frame::Value {
                                node: branch,
                                spaced,
                            });
                            self.step(fork, b, out);
                        }
                        return;
                    }
                    _ => return,
                };
                stack.push(frame);
                out.push(stack);
            }
            Frame::Object { node, next, phase } => {
                let Node::Object(props) = &self.nodes[node] else {
                    unreachable!("object frames point at object nodes")
                };
                let may_close = !props[next..].iter().any(|p| p.2);
                let key = |stack: &mut Vec<Frame>| {
                    // Candidates: the properties from `next` up to and
                    // including the first required one.
                    let last = props[next..]
                        .iter()
                        .position(|p| p.2)
                        .map_or(props.len(), |i| next + i + 1);
                    stack.push(Frame::Object {
                        node,
                        next,
                        phase: ObjectPhase::Colon,
                    });
                    stack.push(Frame::Key {
                        node,
                        alive: all_bits(last) & !all_bits(next),
                        pos: 0,
                    });
                };
                match (phase, b) {
                    (ObjectPhase::Open | ObjectPhase::AfterComma { .. }, b'"')
                        if next < props.len() =>
                    {
                        key(&mut stack)
                    }
                    (ObjectPhase::AfterComma { spaced: false }, b' ') => {
                        stack.push(Frame::Object {
                            node,
                            next,
                            phase: ObjectPhase::AfterComma { spaced: true },
                        });
                    }
                    (ObjectPhase::Open | ObjectPhase::AfterValue, b'}') if may_close => {}
                    (ObjectPhase::Colon, b':') => {
                        let value = props[next - 1].1;
                        stack.push(Frame::Object {
                            node,
                            next,
                            phase: ObjectPhase::AfterValue,
                        });
                        stack.push(Frame::Value {
                            node: value,
                            spaced: false,
                        });
                    }
                    (ObjectPhase::AfterValue, b',') if next < props.len() => {
                        stack.push(Frame::Object {
                            node,
                            next,
                            phase: ObjectPhase::AfterComma { spaced: false },
                        });
                    }
                    _ => return,
                }
                out.push(stack);
            }
            Frame::Key { node, alive, pos } => {
                let Node::Object(props) = &self.nodes[node] else {
                    unreachable!("key frames point at object nodes")
                };
                if b == b'"' {
                    let Some(chosen) = bits(alive).find(|&i| props[i].0.len() == pos) else {
                        return;
                    };
                    let Some(Frame::Object { next, .. }) = stack.last_mut() else {
                        unreachable!("a key frame sits on its object frame")
                    };
                    *next = chosen + 1;
                } else {
                    let alive = bits(alive)
                        .filter(|&i| props[i].0.get(pos) == Some(&b))
                        .fold(0, |m, i| m | 1 << i);
                    if alive == 0 {
                        return;
                    }
                    stack.push(Frame::Key {
                        node,
                        alive,
                        pos: pos + 1,
                    });
                }
                out.push(stack);
            }
            Frame::Array { node, count, phase } => {
                let Node::Array { items, min, max } = self.nodes[node] else {
                    unreachable!("array frames point at array nodes")
                };
                match (phase, b) {
                    (ArrayPhase::Open | ArrayPhase::AfterItem, b']') if count >= min => {
                        out.push(stack)
                    }
                    (ArrayPhase::AfterItem, b',') if count < max => {
                        stack.push(Frame::Array {
                            node,
                            count: count + 1,
                            phase: ArrayPhase::AfterItem,
                        });
                        stack.push(Frame::Value {
                            node: items,
                            spaced: false,
                        });
                        out.push(stack);
                    }
                    (ArrayPhase::Open, _) if max > 0 => {
                        stack.push(Frame::Array {
                            node,
                            count: 1,
                            phase: ArrayPhase::AfterItem,
                        });
                        stack.push(Frame::Value {
                            node: items,
                            spaced: true, // no space right after `[`
                        });
                        self.step(stack, b, out);
                    }
                    _ => {}
                }
            }
            Frame::Str {
                max_chars,
                chars,
                escape,
            } => {
                let (chars, escape) = match (escape, b) {
                    (Escape::None, b'"') => return out.push(stack),
                    // An escape is one character, counted at its backslash.
                    (Escape::None, b'\\') => (chars + 1, Escape::Backslash),
                    (Escape::None, 0..=0x1f) => return,
                    // A UTF-8 continuation byte does not start a character.
                    (Escape::None, 0x80..=0xbf) => (chars, Escape::None),
                    (Escape::None, _) => (chars + 1, Escape::None),
                    (Escape::Backslash, b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                        (chars, Escape::None)
                    }
                    (Escape::Backslash, b'u') => (chars, Escape::Unicode(4)),
                    (Escape::Unicode(left), b) if b.is_ascii_hexdigit() => (
                        chars,
                        if left == 1 {
                            Escape::None
                        } else {
                            Escape::Unicode(left - 1)
                        },
                    ),
                    _ => return,
                };
                if chars <= max_chars {
                    stack.push(Frame::Str {
                        max_chars,
                        chars,
                        escape,
                    });
                    out.push(stack);
                }
            }
            Frame::Literal { node, alive, pos } => {
                let Node::Literals(options) = &self.nodes[node] else {
                    unreachable!("literal frames point at literal nodes")
                };
                let matching: Vec<usize> = bits(alive)
                    .filter(|&i| options[i].get(pos) == Some(&b))
                    .collect();
                if matching.iter().any(|&i| options[i].len() == pos + 1) {
                    out.push(stack.clone()); // one literal is complete
                }
                let longer = matching
                    .iter()
                    .filter(|&&i| options[i].len() > pos + 1)
                    .fold(0, |m, &i| m | 1 << i);
                if longer != 0 {
                    stack.push(Frame::Literal {
                        node,
                        alive: longer,
                        pos: pos + 1,
                    });
                    out.push(stack);
                }
            }
            Frame::Integer {
                node,
                negative,
                digits,
                magnitude,
            } => {
                let (min, max) = self.integer_range(node);
                // The magnitudes the sign allows.
                let (low, high) = if negative {
                    ((-max).max(0), -min)
                } else {
                    (min.max(0), max)
                };
                let next = match b {
                    b'-' if digits == 0 && !negative && min < 0 => {
                        Some((true, 0, 0)).filter(|_| (-max).max(1) <= -min)
                    }
                    // Only digits that still lead to an integer in range
                    // (none after a leading zero).
                    b'0'..=b'9' if digits == 0 || magnitude > 0 => {
                        let m = i128::from(magnitude) * 10 + i128::from(b - b'0');
                        Some((negative, digits + 1, m as u64))
                            .filter(|_| reachable(m, digits == 0, low, high))
                    }
                    _ => None,
                };
                match next {
                    Some((negative, digits, magnitude)) => {
                        stack.push(Frame::Integer {
                            node,
                            negative,
                            digits,
                            magnitude,
                        });
                        out.push(stack);
                    }
                    None if self.complete(&top) => self.step(stack, b, out),
                    None => {}
                }
            }
            Frame::Number {
                signed,
                part,
                digits,
            } => {
                let number = |part, digits| Frame::Number {
                    signed,
                    part,
                    digits,
                };
                use NumberPart::*;
                let next = match (part, b) {
                    (Start, b'-') if signed => Some(number(Minus, 0)),
                    (Start | Minus, b'0') => Some(number(Zero, 1)),
                    (Start | Minus, b'1'..=b'9') => Some(number(Int, 1)),
                    (Int, b'0'..=b'9') if digits < MAX_DIGITS => Some(number(Int, digits + 1)),
                    (Zero | Int, b'.') => Some(number(Dot, 0)),
                    (Dot, b'0'..=b'9') => Some(number(Frac, 1)),
                    (Frac, b'0'..=b'9') if digits < MAX_DIGITS => Some(number(Frac, digits + 1)),
                    (Zero | Int | Frac, b'e' | b'E') => Some(number(Exp, 0)),
                    (Exp, b'+' | b'-') if digits == 0 => Some(number(ExpSign, 0)),
                    (Exp | ExpSign, b'0'..=b'9') if digits < MAX_EXPONENT_DIGITS => {
                        Some(number(Exp, digits + 1))
                    }
                    _ => None,
                };
                match next {
                    Some(frame) => {
                        stack.push(frame);
                        out.push(stack);
                    }
                    // The number is over: `b` belongs to what holds it.
                    None if self.complete(&top) => self.step(stack, b, out),
                    None => {}
                }
            }
        }
    }
}

/// Where a recogniser stands: every way the bytes so far can be read (more
/// than one only while an `anyOf` or `enum` choice is open).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseState {
    stacks: Vec<Vec<Frame>>,
}

/// Masks a model's logits so that what it generates is a document of a
/// [`JsonGrammar`]. Call [`JsonConstraint::mask`] before each token is
/// chosen, with the tokens generated so far (it fits
/// [`crate::Llm::generate_constrained`]).
#[derive(Debug)]
pub struct JsonConstraint<'a> {
    grammar: &'a JsonGrammar,
    tokens: &'a TokenBytes,
    state: ParseState,
    consumed: usize,
}

impl<'a> JsonConstraint<'a> {
    /// A constraint at the start of a document.
    pub fn new(grammar: &'a JsonGrammar, tokens: &'a TokenBytes) -> JsonConstraint<'a> {
        JsonConstraint {
            grammar,
            tokens,
            state: grammar.start(),
            consumed: 0,
        }
    }

    /// Sets the logit of every token that cannot continue the document to
    /// minus infinity. `generated`: the ids generated so far (the previous
    /// calls' choices, so the state follows them).
    pub fn mask(&mut self, generated: &[i64], logits: &mut [f32]) -> Result<()> {
        for &id in &generated[self.consumed.min(generated.len())..] {
            let bytes = self.tokens.bytes(id).unwrap_or_default();
            self.state = self.grammar.advance(&self.state, bytes).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "token {id} was generated although the JSON grammar forbids it: call \
                     `mask` before every token is chosen"
                ))
            })?;
        }
        self.consumed = generated.len();
        let can_end = self.grammar.can_end(&self.state);
        let first: Vec<bool> = (0..=255u8)
            .map(|b| self.grammar.advance(&self.state, &[b]).is_some())
            .collect();
        for (id, logit) in logits.iter_mut().enumerate() {
            let allowed = match self.tokens.bytes(id as i64) {
                _ if self.tokens.is_stop(id as i64) => can_end,
                Some(bytes) if !bytes.is_empty() && first[usize::from(bytes[0])] => {
                    self.grammar.advance(&self.state, bytes).is_some()
                }
                _ => false,
            };
            if !allowed {
                *logit = f32::NEG_INFINITY;
            }
        }
        Ok(())
    }
}

/// The bytes each token id stands for (none for control tokens), and which
/// ids end generation: what a byte-level grammar needs to know of a
/// vocabulary. Build once per tokenizer ([`crate::Llm`] keeps one).
#[derive(Clone, Debug)]
pub struct TokenBytes {
    bytes: Vec<Option<Vec<u8>>>,
    stop: Vec<i64>,
}

impl TokenBytes {
    /// The table of `tokenizer`'s vocabulary.
    pub fn new(tokenizer: &Tokenizer) -> TokenBytes {
        let n = tokenizer.vocab_size() as i64;
        TokenBytes {
            bytes: (0..n).map(|id| tokenizer.token_bytes(id)).collect(),
            stop: (0..n).filter(|&id| tokenizer.is_stop(id)).collect(),
        }
    }

    /// The bytes of `id`; `None` for control tokens and unknown ids.
    pub fn bytes(&self, id: i64) -> Option<&[u8]> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.bytes.get(i))
            .and_then(|b| b.as_deref())
    }

    /// Whether `id` ends generation.
    pub fn is_stop(&self, id: i64) -> bool {
        self.stop.contains(&id)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Frame {
    /// A value of `node` comes next (after one optional space unless
    /// `spaced`).
    Value { node: usize, spaced: bool },
    /// Inside an object; `next` is the index of the first property that
    /// may still come.
    Object {
        node: usize,
        next: usize,
        phase: ObjectPhase,
    },
    /// Inside a key: the candidate properties (bits) that match the `pos`
    /// bytes typed so far.
    Key { node: usize, alive: u64, pos: usize },
    /// Inside an array of which `count` items were started.
    Array {
        node: usize,
        count: usize,
        phase: ArrayPhase,
    },
    Str {
        max_chars: usize,
        chars: usize,
        escape: Escape,
    },
    /// Inside one of the literals (bits) that match the `pos` bytes so far.
    Literal { node: usize, alive: u64, pos: usize },
    Number {
        signed: bool,
        part: NumberPart,
        digits: u8,
    },
    /// Inside an integer: its sign, digit count and magnitude so far.
    Integer {
        node: usize,
        negative: bool,
        digits: u8,
        magnitude: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ObjectPhase {
    Open,
    Colon,
    AfterValue,
    AfterComma { spaced: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ArrayPhase {
    Open,
    AfterItem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Escape {
    None,
    Backslash,
    Unicode(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum NumberPart {
    Start,
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
}

/// Whether digits appended to the magnitude `m` (or none) can give a
/// magnitude in `low..=high`. A leading zero (`first` and `m == 0`) takes
/// no more digits.
fn reachable(m: i128, first: bool, low: i128, high: i128) -> bool {
    if first && m == 0 {
        return (low..=high).contains(&0);
    }
    let mut scale = 1;
    // m followed by k digits spans m * 10^k ..= m * 10^k + 10^k - 1, so it
    // reaches `low` when the end of that span, m * 10^k + 10^k, passes it.
    while m * scale <= high {
        if m * scale + scale > low {
            return true;
        }
        scale *= 10;
    }
    false
}

/// The lowest `n` bits set.
fn all_bits(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1 << n) - 1 }
}

/// Indices of the set bits of `mask`, lowest first.
fn bits(mask: u64) -> impl Iterator<Item = usize> {
    (0..64).filter(move |i| mask >> i & 1 == 1)
}

/// Turns schema JSON into nodes.
struct Compiler<'s> {
    document: &'s Value,
    nodes: Vec<Node>,
    /// `$ref`s being compiled, to refuse recursive schemas.
    open_refs: Vec<String>,
}

impl<'s> Compiler<'s> {
    fn add(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Compiles the schema at `path` (a JSON pointer, for messages).
    fn compile(&mut self, schema: &'s Value, path: &str) -> Result<usize> {
        let fail = |what: String| Err(Error::Schema(format!("{path}: {what}")));
        let Some(map) = schema.as_object() else {
            return fail(format!(
                "{schema} accepts any value; give it a `type` (structured output needs to \
                 know what to write)"
            ));
        };
        for keyword in ["pattern", "patternProperties", "allOf", "not", "if"] {
            if map.contains_key(keyword) {
                return fail(format!(
                    "`{keyword}` cannot be enforced while generating; leave it out and check \
                     the parsed value instead"
                ));
            }
        }
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            return self.reference(reference, path);
        }
        if let Some(value) = map.get("const") {
            return Ok(self.add(Node::Literals(vec![to_json(value)])));
        }
        if let Some(values) = map.get("enum") {
            let Some(values) = values.as_array().filter(|v| !v.is_empty()) else {
                return fail("`enum` must be a non-empty array".into());
            };
            if values.len() > MAX_CHOICES {
                return fail(format!(
                    "`enum` has {} values; at most {MAX_CHOICES}",
                    values.len()
                ));
            }
            return Ok(self.add(Node::Literals(values.iter().map(to_json).collect())));
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(branches) = map.get(keyword) {
                let Some(branches) = branches.as_array().filter(|b| !b.is_empty()) else {
                    return fail(format!("`{keyword}` must be a non-empty array"));
                };
                let nodes = branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| self.compile(b, &format!("{path}/{keyword}/{i}")))
                    .collect::<Result<_>>()?;
                return Ok(self.add(Node::AnyOf(nodes)));
            }
        }
        match map.get("type") {
            Some(Value::String(ty)) => self.typed(ty, map, path),
            Some(Value::Array(types)) => {
                let nodes = types
                    .iter()
                    .map(|t| match t.as_str() {
                        Some(ty) => self.typed(ty, map, path),
                        None => fail(format!("`type` lists {t}, which is not a type name")),
                    })
                    .collect::<Result<_>>()?;
                Ok(self.add(Node::AnyOf(nodes)))
            }
            _ => fail(
                "no `type` (nor `enum`, `const`, `anyOf`, `oneOf` or `$ref`): structured output \
                 needs to know what to write"
                    .into(),
            ),
        }
    }

    fn typed(
        &mut self,
        ty: &str,
        map: &'s serde_json::Map<String, Value>,
        path: &str,
    ) -> Result<usize> {
        let count = |key: &str| map.get(key).and_then(Value::as_u64).map(|n| n as usize);
        let node = match ty {
            "object" => {
                let props: Vec<(&String, &'s Value)> = map
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.iter().collect())
                    .unwrap_or_default();
                if props.len() > MAX_CHOICES {
                    return Err(Error::Schema(format!(
                        "{path}: {} properties; at most {MAX_CHOICES} per object",
                        props.len()
                    )));
                }
                let required: Vec<&str> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if let Some(missing) = required.iter().find(|r| !props.iter().any(|p| p.0 == *r)) {
                    return Err(Error::Schema(format!(
                        "{path}: `{missing}` is required but not among the properties"
                    )));
                }
                let mut compiled = Vec::with_capacity(props.len());
                for (key, schema) in props {
                    let value = self.compile(schema, &format!("{path}/properties/{key}"))?;
                    let quoted = to_json(&Value::String(key.clone()));
                    let bare = quoted[1..quoted.len() - 1].to_vec();
                    compiled.push((bare, value, required.contains(&key.as_str())));
                }
                Node::Object(compiled)
            }
            "array" => {
                let Some(items) = map.get("items") else {
                    return Err(Error::Schema(format!(
                        "{path}: an array needs `items` (the schema of its elements)"
                    )));
                };
                let items = self.compile(items, &format!("{path}/items"))?;
                let (min, max) = (count("minItems").unwrap_or(0), count("maxItems"));
                let max = max.unwrap_or(usize::MAX);
                if min > max {
                    return Err(Error::Schema(format!(
                        "{path}: minItems {min} > maxItems {max}"
                    )));
                }
                Node::Array { items, min, max }
            }
            "string" => Node::String {
                max_chars: count("maxLength").unwrap_or(usize::MAX),
            },
            "integer" => {
                let bound = |key| map.get(key).and_then(Value::as_f64);
                // schemars writes Rust's integer types as a `format`.
                let (low, high) = match map.get("format").and_then(Value::as_str) {
                    Some("int8") => (i8::MIN.into(), i8::MAX.into()),
                    Some("int16") => (i16::MIN.into(), i16::MAX.into()),
                    Some("int32") => (i32::MIN.into(), i32::MAX.into()),
                    Some("uint8") => (0, u8::MAX.into()),
                    Some("uint16") => (0, u16::MAX.into()),
                    Some("uint32") => (0, u32::MAX.into()),
                    _ => (i64::MIN, i64::MAX),
                };
                let min = bound("minimum").map_or(low, |m| (m.ceil() as i64).max(low));
                let max = bound("maximum").map_or(high, |m| (m.floor() as i64).min(high));
                if min > max {
                    return Err(Error::Schema(format!("{path}: minimum > maximum")));
                }
                Node::Integer { min, max }
            }
            "number" => Node::Number {
                signed: !map
                    .get("minimum")
                    .and_then(Value::as_f64)
                    .is_some_and(|m| m >= 0.0),
            },
            "boolean" => Node::Literals(vec![b"true".to_vec(), b"false".to_vec()]),
            "null" => Node::Literals(vec![b"null".to_vec()]),
            other => {
                return Err(Error::Schema(format!(
                    "{path}: unknown type `{other}` (JSON Schema types: object, array, string, \
                     integer, number, boolean, null)"
                )));
            }
        };
        Ok(self.add(node))
    }

    /// Compiles the schema a `$ref` points to (within this document).
    fn reference(&mut self, reference: &str, path: &str) -> Result<usize> {
        let target = reference
            .strip_prefix('#')
            .and_then(|pointer| self.document.pointer(pointer))
            .ok_or_else(|| {
                Error::Schema(format!(
                    "{path}: `$ref` {reference:?} does not point into this schema (only local \
                     references such as \"#/$defs/Name\" are followed)"
                ))
            })?;
        if self.open_refs.iter().any(|r| r == reference) {
            return Err(Error::Schema(format!(
                "{path}: {reference} refers to itself; recursive schemas cannot be enforced \
                 (bound the depth with separate types)"
            )));
        }
        self.open_refs.push(reference.to_string());
        let node = self.compile(target, reference);
        self.open_refs.pop();
        node
    }
}

/// Compact JSON text of `value`.
fn to_json(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a serde_json::Value always serializes")
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    enum Severity {
        Low,
        Medium,
        High,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
    struct Bug {
        line: u32,
        #[schemars(length(max = 12))]
        issue: String,
        fix: Option<String>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
    struct Review {
        #[schemars(length(max = 3))]
        bugs: Vec<Bug>,
        severity: Severity,
        score: f64,
        ok: bool,
    }

    fn review() -> Review {
        Review {
            bugs: vec![Bug {
                line: 2,
                issue: "max_val = 0".into(),
                fix: None,
            }],
            severity: Severity::Medium,
            score: -0.5e-3,
            ok: false,
        }
    }

    fn grammar<T: JsonSchema>() -> JsonGrammar {
        JsonGrammar::from_schema(&schema_for::<T>()).unwrap()
    }

    #[test]
    fn serialized_values_of_the_type_are_accepted() {
        let g = grammar::<Review>();
        let text = serde_json::to_string(&review()).unwrap();
        assert!(g.accepts(&text), "{text}");
        assert!(g.accepts(r#"{"bugs": [], "severity": "high", "score": 1, "ok": true}"#));
        assert!(g.accepts(r#"{"bugs":[{"line":0,"issue":"\"q\" \u00e9","fix":"x"}],"severity":"low","score":0.25E+2,"ok":true}"#));
    }

    #[test]
    fn documents_outside_the_schema_are_rejected() {
        let g = grammar::<Review>();
        for bad in [
            r#"{"severity":"low","score":1,"ok":true}"#, // required key missing
            r#"{"bugs":[],"severity":"urgent","score":1,"ok":true}"#, // not in the enum
            r#"{"bugs":[],"severity":"low","score":1,"ok":true,"x":1}"#, // unknown key
            r#"{"severity":"low","bugs":[],"score":1,"ok":true}"#, // keys out of order
            r#"{"bugs":[],"severity":"low","score":01,"ok":true}"#, // leading zero
            r#"{"bugs":[{"line":-1,"issue":"","fix":null}],"severity":"low","score":1,"ok":true}"#, // u32
            r#"{"bugs":[{"line":1,"issue":"thirteen chars","fix":null}],"severity":"low","score":1,"ok":true}"#,
            r#"{"bugs":[],"severity":"low","score":1,"ok":true} "#, // trailing text
            r#"{"bugs":[],"severity":"low","score":1,"ok":true"#,   // cut short
            "{\"bugs\":[],\n\"severity\":\"low\",\"score\":1,\"ok\":true}", // newline
        ] {
            assert!(!g.accepts(bad), "accepted {bad}");
        }
    }

    #[test]
    fn optional_properties_may_be_left_out_but_not_reordered() {
        let schema = json!({"type": "object", "properties": {
            "query": {"type": "string"},
            "category": {"type": "string", "enum": ["电子", "服装", "食品"]},
            "limit": {"type": "integer", "minimum": 1}
        }, "required": ["query"]});
        let g = JsonGrammar::from_schema(&schema).unwrap();
        assert!(g.accepts(r#"{"query":"iPhone"}"#));
        assert!(g.accepts(r#"{"query":"iPhone","limit":3}"#));
        assert!(g.accepts(r#"{"query":"iPhone", "category":"电子", "limit":3}"#));
        assert!(!g.accepts(r#"{"category":"电子"}"#));
        assert!(!g.accepts(r#"{"query":"a","limit":3,"category":"电子"}"#));
    }

    #[test]
    fn any_of_and_type_lists_choose_by_what_follows() {
        let schema = json!({"anyOf": [
            {"type": "object", "properties": {"name": {"const": "add"}, "x": {"type": "number"}},
             "required": ["name", "x"]},
            {"type": "object", "properties": {"name": {"const": "neg"}, "y": {"type": ["integer", "null"]}},
             "required": ["name", "y"]}
        ]});
        let g = JsonGrammar::from_schema(&schema).unwrap();
        assert!(g.accepts(r#"{"name":"add","x":1.5}"#));
        assert!(g.accepts(r#"{"name":"neg","y":null}"#));
        assert!(!g.accepts(r#"{"name":"add","y":1}"#));
        assert!(!g.accepts(r#"{"name":"neg","y":1.5}"#));
        let numbers = JsonGrammar::from_schema(&json!({"type": "number"})).unwrap();
        for ok in ["0", "-0.5", "12e3", "1.25E-2"] {
            assert!(numbers.accepts(ok), "{ok}");
        }
        for bad in ["-", "1.", ".5", "1e", "00", "+1", "1 "] {
            assert!(!numbers.accepts(bad), "{bad}");
        }
    }

    #[test]
    fn integers_stay_in_their_range_and_never_reach_a_dead_end() {
        let g = JsonGrammar::from_schema(&json!({"type": "integer", "minimum": -12, "maximum": 7}))
            .unwrap();
        for ok in ["-12", "-1", "0", "5", "7"] {
            assert!(g.accepts(ok), "{ok}");
        }
        for bad in ["-13", "8", "10", "05", "-01", "1.0"] {
            assert!(!g.accepts(bad), "{bad}");
        }
        // In 20..=29, "3" could only go on to 30-39 or more: refused at once.
        let twenties = JsonGrammar::from_schema(&json!({"type": "integer", "minimum": 20,
            "maximum": 29}))
        .unwrap();
        assert!(twenties.advance(&twenties.start(), b"2").is_some());
        assert!(twenties.advance(&twenties.start(), b"3").is_none());
        let byte = JsonGrammar::from_schema(&schema_for::<u8>()).unwrap();
        assert!(byte.accepts("255") && !byte.accepts("256") && !byte.accepts("-1"));
        assert!(reachable(2, true, 20, 29) && !reachable(3, true, 20, 29));
        assert!(reachable(0, true, 0, 9) && !reachable(0, true, 1, 9));
    }

    #[test]
    fn schemas_that_cannot_be_enforced_are_errors_that_say_why() {
        let message = |schema: Value| JsonGrammar::from_schema(&schema).unwrap_err().to_string();
        assert!(message(json!({"type": "string", "pattern": "^a"})).contains("`pattern`"));
        assert!(message(json!({})).contains("no `type`"));
        assert!(message(json!({"type": "array"})).contains("needs `items`"));
        assert!(
            message(json!({"type": "object", "properties": {}, "required": ["a"]}))
                .contains("`a` is required")
        );
        let recursive = json!({"$ref": "#/$defs/T", "$defs": {"T": {"type": "object",
            "properties": {"child": {"$ref": "#/$defs/T"}}}}});
        assert!(message(recursive).contains("recursive"));
        assert!(message(json!({"$ref": "other.json#/x"})).contains("does not point into"));
    }

    /// A toy vocabulary: every printable ASCII byte, some multi-byte
    /// tokens, the two bytes of "é", and an end-of-text token (the last id).
    fn toy_vocabulary() -> TokenBytes {
        let mut bytes: Vec<Option<Vec<u8>>> = (b' '..=b'~').map(|b| Some(vec![b])).collect();
        for t in [
            "{\"", "\":", "\",\"", "true", "null", "high", "12", "é", "\"}",
        ] {
            bytes.push(Some(t.as_bytes().to_vec()));
        }
        bytes.extend([Some(vec![0xc3]), Some(vec![0xa9]), None]);
        let stop = vec![bytes.len() as i64 - 1];
        TokenBytes { bytes, stop }
    }

    #[test]
    fn masked_random_choices_always_make_a_valid_document() {
        let g = grammar::<Review>();
        let vocab = toy_vocabulary();
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..50 {
            let mut constraint = JsonConstraint::new(&g, &vocab);
            let mut generated = Vec::new();
            let mut text = Vec::new();
            loop {
                let mut logits: Vec<f32> = (0..vocab.bytes.len()).map(|_| rng.r#gen()).collect();
                constraint.mask(&generated, &mut logits).unwrap();
                let best = (0..logits.len())
                    .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                    .unwrap();
                assert!(
                    logits[best].is_finite(),
                    "no token allowed after {:?}",
                    String::from_utf8_lossy(&text)
                );
                if vocab.is_stop(best as i64) {
                    break;
                }
                text.extend_from_slice(vocab.bytes(best as i64).unwrap());
                generated.push(best as i64);
                assert!(
                    generated.len() < 2000,
                    "runaway: {}",
                    String::from_utf8_lossy(&text)
                );
            }
            let text = String::from_utf8_lossy(&text);
            let parsed: std::result::Result<Review, _> = serde_json::from_str(&text);
            assert!(parsed.is_ok(), "{text}: {parsed:?}");
        }
    }

    #[test]
    fn end_of_text_is_allowed_only_once_the_document_is_whole() {
        let g = JsonGrammar::from_schema(&json!({"type": "integer"})).unwrap();
        let vocab = toy_vocabulary();
        let eos = vocab.bytes.len() - 1;
        let mut constraint = JsonConstraint::new(&g, &vocab);
        let mut logits = vec![0.0; vocab.bytes.len()];
        constraint.mask(&[], &mut logits).unwrap();
        assert!(logits[eos].is_infinite(), "an empty document cannot end");
        let one = i64::from(b'1' - b' ');
        let mut logits = vec![0.0; vocab.bytes.len()];
        constraint.mask(&[one], &mut logits).unwrap();
        assert!(logits[eos].is_finite() && logits[usize::from(b'2' - b' ')].is_finite());
        assert!(
            logits[usize::from(b'.' - b' ')].is_infinite(),
            "integers have no fraction"
        );
        let bad = i64::from(b'x' - b' ');
        let err = constraint.mask(&[one, bad], &mut logits).unwrap_err();
        assert!(err.to_string().contains("forbids"), "{err}");
    }
}
