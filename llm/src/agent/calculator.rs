//! [`Calculator`]: arithmetic for an agent, by a recursive-descent parser.
//!
//! The guide's calculator calls Python's `eval` on whatever the model wrote
//! (and warns not to do that in a real project): `eval` runs any code, and
//! its errors say little. Here the input is parsed by a grammar that only
//! knows arithmetic, so the worst a model can do is get an error message,
//! and the message says what was wrong and where (`unexpected ')' at 7`),
//! which the model reads as its observation and can act on.
//!
//! Grammar, loosest binding first (positions in errors count characters
//! from 0):
//!
//! ```text
//! expr    = term (("+" | "-") term)*          left-associative
//! term    = unary (("*" | "/" | "%") unary)*  left-associative
//! unary   = ("-" | "+") unary | power         so -2^2 = -(2^2)
//! power   = primary (("^" | "**") unary)?     right-associative: 2^3^2 = 2^9
//! primary = number | name | name "(" expr ("," expr)* ")" | "(" expr ")"
//! ```

use std::fmt;

use super::Tool;

/// The calculator tool: evaluates an arithmetic expression with
/// [`evaluate`] and answers with the number.
#[derive(Clone, Copy, Debug, Default)]
pub struct Calculator;

impl Tool for Calculator {
    fn name(&self) -> &str {
        "calculator"
    }

    fn description(&self) -> &str {
        "Evaluates an arithmetic expression and returns the number."
    }

    fn input(&self) -> &str {
        "an expression with numbers, + - * / ^ %, parentheses and sqrt, abs, round, floor, \
         ceil, ln, log10, exp, sin, cos, tan, min, max, pi, e; for example 2 * (3 + 4.5) or sqrt(2)"
    }

    fn call(&self, input: &str) -> Result<String, String> {
        evaluate(input)
            .map(format_number)
            .map_err(|e| e.to_string())
    }
}

/// Why an expression could not be evaluated, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalcError {
    /// What went wrong, e.g. `unexpected ')'` or `division by zero`.
    pub message: String,
    /// The character position (from 0) where it went wrong.
    pub at: usize,
    /// How to put it right, where there is more to say.
    pub hint: Option<String>,
}

impl fmt::Display for CalcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.message, self.at)?;
        match &self.hint {
            Some(hint) => write!(f, " ({hint})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for CalcError {}

/// The value of the arithmetic expression `text`.
///
/// ```
/// use aiguide_llm::agent::calculator::evaluate;
/// assert_eq!(evaluate("2 + 3 * 4").unwrap(), 14.0);
/// assert_eq!(evaluate("2 ^ 3 ^ 2").unwrap(), 512.0);
/// assert_eq!(evaluate("(1 + 2))").unwrap_err().to_string(), "unexpected ')' at 7");
/// ```
pub fn evaluate(text: &str) -> Result<f64, CalcError> {
    let mut parser = Parser {
        tokens: tokenize(text),
        next: 0,
    };
    let value = parser.expr()?;
    match parser.peek() {
        (Token::End, _) => Ok(value),
        (token, at) => Err(unexpected(token, at, None)),
    }
}

/// `value` as a person writes it: integers without a fraction, others to 12
/// significant digits, so that 0.1 + 0.2 reads 0.3 rather than
/// 0.30000000000000004 (the float rounding noise would only confuse a model).
pub fn format_number(value: f64) -> String {
    if value == 0.0 {
        return "0".into(); // also -0, which a person would not write
    }
    if value == value.trunc() && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let rounded: f64 = format!("{value:.11e}")
        .parse()
        .expect("a formatted float parses");
    format!("{rounded}")
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Op(char),
    Comma,
    Open,
    Close,
    End,
    /// Text that is no token; the error is reported when the parser gets
    /// there, so that errors come in reading order.
    Bad(CalcError),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Number(n) => write!(f, "number {}", format_number(*n)),
            Token::Name(name) => write!(f, "'{name}'"),
            Token::Op(op) => write!(f, "'{op}'"),
            Token::Comma => f.write_str("','"),
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
            Token::End => f.write_str("end of input"),
            Token::Bad(e) => write!(f, "{}", e.message),
        }
    }
}

/// The tokens of `text`, each with its character position; the last is
/// [`Token::End`] at the length of the text, or [`Token::Bad`] where the
/// text stops making tokens.
fn tokenize(text: &str) -> Vec<(Token, usize)> {
    let mut tokens = Vec::new();
    match lex(text, &mut tokens) {
        Ok(()) => tokens.push((Token::End, text.chars().count())),
        Err(e) => tokens.push((Token::Bad(e.clone()), e.at)),
    }
    tokens
}

/// Pushes the tokens of `text` onto `tokens`, up to the first error.
fn lex(text: &str, tokens: &mut Vec<(Token, usize)>) -> Result<(), CalcError> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let token = match c {
            _ if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '0'..='9' | '.' => {
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let digits: String = chars[start..i].iter().collect();
                let number = digits.parse().map_err(|_| CalcError {
                    message: format!("malformed number '{digits}'"),
                    at: start,
                    hint: None,
                })?;
                tokens.push((Token::Number(number), start));
                continue;
            }
            _ if c.is_alphabetic() || c == '_' => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push((Token::Name(chars[start..i].iter().collect()), start));
                continue;
            }
            // Python's power operator, which models trained on code write.
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                Token::Op('^')
            }
            '+' | '-' | '*' | '/' | '%' | '^' => Token::Op(c),
            '×' => Token::Op('*'),
            '÷' => Token::Op('/'),
            ',' => Token::Comma,
            '(' => Token::Open,
            ')' => Token::Close,
            // Models like to write the result they expect after the
            // expression.
            '=' => {
                return Err(CalcError {
                    message: "unexpected '='".into(),
                    at: start,
                    hint: Some(
                        "write the expression alone: the calculator works out its value".into(),
                    ),
                });
            }
            _ => {
                return Err(CalcError {
                    message: format!("unexpected character '{c}'"),
                    at: start,
                    hint: None,
                });
            }
        };
        tokens.push((token, start));
        i += 1;
    }
    Ok(())
}

/// The error for `token` where something else was needed.
fn unexpected(token: &Token, at: usize, expected: Option<&str>) -> CalcError {
    if let Token::Bad(e) = token {
        return e.clone();
    }
    let message = match expected {
        Some(what) => format!("expected {what}, found {token}"),
        None => format!("unexpected {token}"),
    };
    CalcError {
        message,
        at,
        hint: None,
    }
}

/// What may start an operand, for error messages.
const OPERAND: &str = "a number, '(' or a function";

struct Parser {
    tokens: Vec<(Token, usize)>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> (&Token, usize) {
        let (token, at) = &self.tokens[self.next];
        (token, *at)
    }

    /// Moves past the current token (never past the end).
    fn bump(&mut self) -> (Token, usize) {
        let token = self.tokens[self.next].clone();
        if !matches!(token.0, Token::End | Token::Bad(_)) {
            self.next += 1;
        }
        token
    }

    fn expr(&mut self) -> Result<f64, CalcError> {
        let mut value = self.term()?;
        while let (Token::Op(op @ ('+' | '-')), at) = self.peek() {
            let op = *op;
            self.bump();
            let right = self.term()?;
            value = finite(
                if op == '+' {
                    value + right
                } else {
                    value - right
                },
                at,
            )?;
        }
        Ok(value)
    }

    fn term(&mut self) -> Result<f64, CalcError> {
        let mut value = self.unary()?;
        while let (Token::Op(op @ ('*' | '/' | '%')), at) = self.peek() {
            let op = *op;
            self.bump();
            let right = self.unary()?;
            if op != '*' && right == 0.0 {
                let what = if op == '/' { "division" } else { "remainder" };
                return Err(CalcError {
                    message: format!("{what} by zero"),
                    at,
                    hint: None,
                });
            }
            value = finite(
                match op {
                    '*' => value * right,
                    '/' => value / right,
                    _ => value % right,
                },
                at,
            )?;
        }
        Ok(value)
    }

    fn unary(&mut self) -> Result<f64, CalcError> {
        match self.peek() {
            (Token::Op('-'), _) => {
                self.bump();
                Ok(-self.unary()?)
            }
            (Token::Op('+'), _) => {
                self.bump();
                self.unary()
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Result<f64, CalcError> {
        let base = self.primary()?;
        let (Token::Op('^'), at) = self.peek() else {
            return Ok(base);
        };
        self.bump();
        // The exponent is a `unary`, which itself may hold a power: this
        // recursion is what makes ^ right-associative.
        let exponent = self.unary()?;
        let value = base.powf(exponent);
        if value.is_nan() {
            return Err(CalcError {
                message: format!(
                    "{} ^ {} is not a real number",
                    format_number(base),
                    format_number(exponent)
                ),
                at,
                hint: None,
            });
        }
        finite(value, at)
    }

    fn primary(&mut self) -> Result<f64, CalcError> {
        match self.bump() {
            (Token::Number(n), _) => Ok(n),
            (Token::Open, open) => {
                let value = self.expr()?;
                match self.bump() {
                    (Token::Close, _) => Ok(value),
                    (token, at) => Err(unexpected(
                        &token,
                        at,
                        Some(&format!("')' to close the '(' at {open}")),
                    )),
                }
            }
            (Token::Name(name), at) => {
                if let Some(value) = constant(&name) {
                    return Ok(value);
                }
                let Some(arity) = arity(&name) else {
                    return Err(CalcError {
                        message: format!("unknown name '{name}'"),
                        at,
                        hint: Some(format!(
                            "functions: {}; constants: pi, e",
                            FUNCTIONS.map(|f| f.0).join(", ")
                        )),
                    });
                };
                let args = self.arguments(&name)?;
                if args.len() != arity {
                    return Err(CalcError {
                        message: format!(
                            "{name} takes {arity} argument{}, got {}",
                            if arity == 1 { "" } else { "s" },
                            args.len()
                        ),
                        at,
                        hint: None,
                    });
                }
                apply(&name, &args, at)
            }
            (token, at) => Err(unexpected(&token, at, Some(OPERAND))),
        }
    }

    /// `"(" expr ("," expr)* ")"` after the function name `name`.
    fn arguments(&mut self, name: &str) -> Result<Vec<f64>, CalcError> {
        match self.bump() {
            (Token::Open, _) => {}
            (token, at) => {
                return Err(unexpected(
                    &token,
                    at,
                    Some(&format!("'(' after the function {name}")),
                ));
            }
        }
        let mut args = vec![self.expr()?];
        loop {
            match self.bump() {
                (Token::Comma, _) => args.push(self.expr()?),
                (Token::Close, _) => return Ok(args),
                (token, at) => return Err(unexpected(&token, at, Some("',' or ')'"))),
            }
        }
    }
}

/// Functions and how many arguments each takes.
const FUNCTIONS: [(&str, usize); 13] = [
    ("sqrt", 1),
    ("abs", 1),
    ("round", 1),
    ("floor", 1),
    ("ceil", 1),
    ("ln", 1),
    ("log10", 1),
    ("exp", 1),
    ("sin", 1),
    ("cos", 1),
    ("tan", 1),
    ("min", 2),
    ("max", 2),
];

fn arity(name: &str) -> Option<usize> {
    FUNCTIONS.iter().find(|f| f.0 == name).map(|f| f.1)
}

fn constant(name: &str) -> Option<f64> {
    match name {
        "pi" => Some(std::f64::consts::PI),
        "e" => Some(std::f64::consts::E),
        _ => None,
    }
}

/// `name(args)` for a known function with the right number of arguments;
/// an error outside its domain (the square root of a negative number).
fn apply(name: &str, args: &[f64], at: usize) -> Result<f64, CalcError> {
    let x = args[0];
    let outside = |what: &str| {
        Err(CalcError {
            message: format!("{name} of {} {what}", format_number(x)),
            at,
            hint: None,
        })
    };
    let value = match name {
        "sqrt" if x < 0.0 => return outside("is not a real number"),
        "ln" | "log10" if x <= 0.0 => return outside("is undefined"),
        "sqrt" => x.sqrt(),
        "abs" => x.abs(),
        "round" => x.round(),
        "floor" => x.floor(),
        "ceil" => x.ceil(),
        "ln" => x.ln(),
        "log10" => x.log10(),
        "exp" => x.exp(),
        "sin" => x.sin(),
        "cos" => x.cos(),
        "tan" => x.tan(),
        "min" => x.min(args[1]),
        "max" => x.max(args[1]),
        _ => unreachable!("`arity` knows only the functions above"),
    };
    finite(value, at)
}

/// `value`, or an error when an operation at `at` overflowed.
fn finite(value: f64, at: usize) -> Result<f64, CalcError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(CalcError {
            message: "result too large".into(),
            at,
            hint: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str) -> f64 {
        evaluate(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn error(text: &str) -> String {
        match evaluate(text) {
            Ok(v) => panic!("{text} gave {v}, expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn precedence_follows_arithmetic() {
        assert_eq!(eval("2 + 3 * 4"), 14.0);
        assert_eq!(eval("(2 + 3) * 4"), 20.0);
        assert_eq!(eval("2 * 3 ^ 2"), 18.0);
        assert_eq!(eval("7 % 4 + 1"), 4.0);
        assert_eq!(eval("10 / 4"), 2.5);
        assert_eq!(eval("  1.5+.5 "), 2.0);
        assert_eq!(eval("3 × 4 ÷ 2"), 6.0);
    }

    #[test]
    fn minus_and_division_associate_left_power_right() {
        assert_eq!(eval("10 - 4 - 3"), 3.0);
        assert_eq!(eval("64 / 4 / 2"), 8.0);
        assert_eq!(eval("2 ^ 3 ^ 2"), 512.0);
        assert_eq!(eval("2 ** 3 ** 2"), 512.0);
        assert_eq!(eval("(2 ^ 3) ^ 2"), 64.0);
    }

    #[test]
    fn unary_minus_binds_looser_than_power() {
        assert_eq!(eval("-2 ^ 2"), -4.0);
        assert_eq!(eval("(-2) ^ 2"), 4.0);
        assert_eq!(eval("2 ^ -1"), 0.5);
        assert_eq!(eval("--3"), 3.0);
        assert_eq!(eval("4 * -2"), -8.0);
        assert_eq!(eval("-(1 + 2)"), -3.0);
    }

    #[test]
    fn functions_and_constants() {
        assert_eq!(eval("sqrt(16) + abs(-2)"), 6.0);
        assert_eq!(eval("max(2, min(7, 5))"), 5.0);
        assert_eq!(eval("round(2.5) + floor(1.9) + ceil(1.1)"), 6.0);
        assert!((eval("2 * pi") - std::f64::consts::TAU).abs() < 1e-12);
        assert!((eval("ln(e)") - 1.0).abs() < 1e-12);
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(error("(1 + 2))"), "unexpected ')' at 7");
        assert_eq!(
            error("2 * (3 + 4"),
            "expected ')' to close the '(' at 4, found end of input at 10"
        );
        assert_eq!(
            error("2 + * 3"),
            "expected a number, '(' or a function, found '*' at 4"
        );
        assert_eq!(
            error("1 +"),
            "expected a number, '(' or a function, found end of input at 3"
        );
        assert_eq!(error("2 $ 3"), "unexpected character '$' at 2");
        assert_eq!(
            error("2 + 2 = 4"),
            "unexpected '=' at 6 (write the expression alone: the calculator works out its value)"
        );
        assert_eq!(error("4 (2)"), "unexpected '(' at 2");
        assert_eq!(error("1.2.3"), "malformed number '1.2.3' at 0");
        // In reading order: the first problem is reported, not the first
        // character that is no token.
        assert_eq!(error("2000-01-01 is a Saturday."), "unexpected 'is' at 11");
        assert_eq!(error("max(1)"), "max takes 2 arguments, got 1 at 0");
        assert_eq!(
            error("sqrt 4"),
            "expected '(' after the function sqrt, found number 4 at 5"
        );
        assert!(error("x + 1").starts_with("unknown name 'x' at 0 (functions: sqrt,"));
        assert_eq!(
            error(""),
            "expected a number, '(' or a function, found end of input at 0"
        );
    }

    #[test]
    fn arithmetic_errors_are_errors_not_infinities() {
        assert_eq!(error("1 / (2 - 2)"), "division by zero at 2");
        assert_eq!(error("5 % 0"), "remainder by zero at 2");
        assert_eq!(error("sqrt(-4)"), "sqrt of -4 is not a real number at 0");
        assert_eq!(error("ln(0)"), "ln of 0 is undefined at 0");
        assert_eq!(error("(-8) ^ 0.5"), "-8 ^ 0.5 is not a real number at 5");
        assert_eq!(error("10 ^ 400"), "result too large at 3");
    }

    #[test]
    fn numbers_are_written_as_a_person_would() {
        assert_eq!(format_number(eval("0.1 + 0.2")), "0.3");
        assert_eq!(format_number(42.0), "42");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(-7.0), "-7");
        assert_eq!(format_number(1.0 / 3.0), "0.333333333333");
        assert_eq!(format_number(2e20), "200000000000000000000");
        assert_eq!(Calculator.call("6 * 7"), Ok("42".into()));
        assert_eq!(
            Calculator.call("6 /"),
            Err("expected a number, '(' or a function, found end of input at 3".into())
        );
    }
}
