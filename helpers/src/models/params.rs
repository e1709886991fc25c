//! Counting and listing a model's parameters, the `sum(p.numel() for p in
//! model.parameters())` and `model.state_dict()` of PyTorch.

use tch::nn::VarStore;

use crate::display::Table;

/// The number of trainable parameters in `vs` (what PyTorch's
/// `sum(p.numel() for p in model.parameters())` counts). Buffers such as
/// batch-norm running statistics are not parameters and are not counted.
pub fn parameter_count(vs: &VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

/// One row per variable of `vs`, in natural name order (`blocks.2` before
/// `blocks.10`): name, shape, number of values, and whether it is trained
/// (running statistics are not). The caption gives the trainable total.
pub fn parameter_table(vs: &VarStore) -> Table {
    let mut vars: Vec<(String, tch::Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by_key(|(name, _)| natural_key(name));
    let mut table = Table::new(["name", "shape", "values", "trainable"]);
    for (name, t) in &vars {
        table.push_row([
            name.clone(),
            format!("{:?}", t.size()),
            t.numel().to_string(),
            if t.requires_grad() { "yes" } else { "no" }.to_string(),
        ]);
    }
    table.with_caption(format!(
        "{} variables, {} trainable parameters",
        vars.len(),
        thousands(parameter_count(vs))
    ))
}

/// `1234567` as `1,234,567`, the way the guide prints parameter counts.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Splits a name into text and number chunks, so numbers compare by value.
fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut number = c.to_digit(10).map_or(0, u64::from);
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                number = number.saturating_mul(10).saturating_add(u64::from(d));
                chars.next();
            }
            key.push((std::mem::take(&mut text), number));
        } else {
            text.push(c);
        }
    }
    key.push((text, 0));
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;
    use tch::nn;

    #[test]
    fn counts_parameters_not_buffers() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _lin = nn::linear(vs.root() / "fc", 3, 2, Default::default());
        let _bn = nn::batch_norm2d(vs.root() / "bn", 4, Default::default());
        // 3*2 + 2 weights and biases, 4 + 4 batch-norm scale and shift.
        assert_eq!(parameter_count(&vs), 16);
        let table = parameter_table(&vs);
        assert_eq!(
            table.rows().len(),
            6,
            "running mean and variance are listed"
        );
        assert_eq!(table.rows()[0][0], "bn.bias");
        assert!(table.to_text().contains("16 trainable parameters"));
    }

    #[test]
    fn natural_order_and_thousands() {
        let mut names = vec!["b.10.w", "b.2.w", "a", "b.2.v"];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(names, ["a", "b.2.v", "b.2.w", "b.10.w"]);
        assert_eq!(thousands(21_254_144), "21,254,144");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(-1000), "-1,000");
    }
}
