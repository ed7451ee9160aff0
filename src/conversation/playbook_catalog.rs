//! Which playbooks exist: the `*.yaml` files in `PLAYBOOKS_DIR`, named by file name.

use std::path::{Path, PathBuf};

use super::playbook::{Playbook, PlaybookError};

/// The playbook directory; campaigns name a file in it.
#[derive(Debug, Clone)]
pub struct PlaybookCatalog {
    dir: PathBuf,
}

impl PlaybookCatalog {
    pub const DEFAULT: &'static str = "real_estate_en.yaml";

    pub fn new(dir: impl Into<PathBuf>) -> Self {
        PlaybookCatalog { dir: dir.into() }
    }

    /// Resolves `real_estate_en` or `real_estate_en.yaml` to the stored file name, refusing
    /// anything that is not a plain file name in the directory.
    pub fn resolve(&self, name: &str) -> Result<String, String> {
        let name = name.trim();
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !name.starts_with('.');
        if !plain {
            return Err(format!("playbook {name:?} is not a plain file name"));
        }
        let file = if name.ends_with(".yaml") || name.ends_with(".yml") {
            name.to_string()
        } else {
            format!("{name}.yaml")
        };
        if self.dir.join(&file).is_file() {
            // An invalid playbook is refused here, naming the file and field, not mid-call.
            Playbook::load(&self.dir.join(&file)).map_err(|e| e.to_string())?;
            Ok(file)
        } else {
            Err(format!(
                "no playbook {file:?} in {}; available: {}",
                self.dir.display(),
                self.available().join(", ")
            ))
        }
    }

    pub fn available(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
            .collect();
        names.sort();
        names
    }

    /// Loads a campaign's playbook by its stored file name.
    pub fn load(&self, file: &str) -> Result<Playbook, PlaybookError> {
        let file = self.resolve(file).map_err(|reason| PlaybookError {
            file: file.to_string(),
            field: "-".into(),
            reason,
        })?;
        Playbook::load(&self.dir.join(file))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
