"""The stages of the pipeline: each reads a `Question` and answers it (an `Answer`) or passes (None).
`knowledge.answer.STAGES` orders them; the first that answers wins."""
