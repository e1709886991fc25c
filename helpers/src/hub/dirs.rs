//! Where aiguide keeps its files. One home folder holds everything the course
//! downloads or builds, so it is one place to inspect, move or delete.

use std::path::PathBuf;

/// `$AIGUIDE_HOME`, else `${XDG_CACHE_HOME:-$HOME/.cache}/aiguide`.
pub fn home_dir() -> PathBuf {
    home_from(&env)
}

/// The data hub's folder: `$AIGUIDE_DATA`, else `$AIGUIDE_HOME/data` (see [`home_dir`]).
pub fn data_dir() -> PathBuf {
    data_from(&env)
}

/// An environment variable, with an empty value treated as unset (as `${VAR:-...}` does).
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn home_from(get: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(home) = get("AIGUIDE_HOME") {
        return PathBuf::from(home);
    }
    let cache = match (get("XDG_CACHE_HOME"), get("HOME")) {
        (Some(cache), _) => PathBuf::from(cache),
        (None, Some(home)) => PathBuf::from(home).join(".cache"),
        (None, None) => PathBuf::from(".cache"),
    };
    cache.join("aiguide")
}

fn data_from(get: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    get("AIGUIDE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| home_from(get).join("data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_to_the_user_cache() {
        let get = vars(&[("HOME", "/home/ada")]);
        assert_eq!(home_from(&get), PathBuf::from("/home/ada/.cache/aiguide"));
        assert_eq!(
            data_from(&get),
            PathBuf::from("/home/ada/.cache/aiguide/data")
        );
    }

    #[test]
    fn xdg_cache_home_moves_the_home() {
        let get = vars(&[("HOME", "/home/ada"), ("XDG_CACHE_HOME", "/tmp/c")]);
        assert_eq!(home_from(&get), PathBuf::from("/tmp/c/aiguide"));
    }

    #[test]
    fn aiguide_variables_win() {
        let get = vars(&[("HOME", "/home/ada"), ("AIGUIDE_HOME", "/opt/ai")]);
        assert_eq!(data_from(&get), PathBuf::from("/opt/ai/data"));
        let get = vars(&[("AIGUIDE_HOME", "/opt/ai"), ("AIGUIDE_DATA", "/data")]);
        assert_eq!(data_from(&get), PathBuf::from("/data"));
    }
}
