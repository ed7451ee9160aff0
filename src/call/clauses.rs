//! Cuts the LLM's token stream into clauses for TTS, so the first words are spoken before the
//! LLM has finished: a sentence end always cuts; a comma cuts once the clause is long enough to
//! sound natural on its own.

/// Accumulates tokens and yields finished clauses.
#[derive(Debug, Default)]
pub struct ClauseSplitter {
    buffer: String,
    emitted: usize,
}

/// A comma ends a clause only after this many characters (the first one sooner, for latency).
const MIN_COMMA_CLAUSE: usize = 40;
const MIN_FIRST_COMMA_CLAUSE: usize = 12;

impl ClauseSplitter {
    /// A whole fixed line cut as it is spoken (the greeting, a closing line): the same
    /// clauses whoever cuts it, so audio rendered ahead matches what the core asks for.
    pub fn whole(text: &str) -> Vec<String> {
        let mut splitter = ClauseSplitter::default();
        let mut pieces = splitter.push(&format!("{text} "));
        pieces.extend(splitter.finish());
        pieces
    }

    pub fn push(&mut self, token: &str) -> Vec<String> {
        self.buffer.push_str(token);
        let mut out = Vec::new();
        while let Some(cut) = self.cut_point() {
            let clause: String = self.buffer.drain(..cut).collect();
            let clause = clause.trim().to_string();
            if !clause.is_empty() {
                self.emitted += 1;
                out.push(clause);
            }
        }
        out
    }

    /// Whatever is left when the LLM is done.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buffer);
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    }

    fn cut_point(&self) -> Option<usize> {
        let min_comma = if self.emitted == 0 {
            MIN_FIRST_COMMA_CLAUSE
        } else {
            MIN_COMMA_CLAUSE
        };
        let chars: Vec<(usize, char)> = self.buffer.char_indices().collect();
        for (i, &(pos, c)) in chars.iter().enumerate() {
            // A boundary needs the next character, to tell "3.5" and "Mr." from a sentence end.
            let &(_, next) = chars.get(i + 1)?;
            if !next.is_whitespace() {
                continue;
            }
            let end = pos + c.len_utf8();
            match c {
                '.' | '!' | '?' | '।' => return Some(end),
                ',' | ';' | ':' if end >= min_comma => return Some(end),
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_and_long_commas_cut() {
        let mut s = ClauseSplitter::default();
        let mut out = Vec::new();
        for token in [
            "Great",
            ", thank",
            " you so much",
            ". What",
            " budget do",
            " you have",
            " in mind",
            "?",
            " It costs 3.5 crore",
            ", more or less",
        ] {
            out.extend(s.push(token));
        }
        out.extend(s.finish());
        assert_eq!(
            out,
            vec![
                "Great, thank you so much.",
                "What budget do you have in mind?",
                "It costs 3.5 crore, more or less"
            ]
        );
    }

    #[test]
    fn first_clause_cuts_early_at_a_comma() {
        let mut s = ClauseSplitter::default();
        assert_eq!(
            s.push("Okay Ravi ji, let me note that down "),
            vec!["Okay Ravi ji,"]
        );
        assert_eq!(s.finish().as_deref(), Some("let me note that down"));
    }
}
