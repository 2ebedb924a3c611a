"""Custom Rasa NLU components: text normalisation in front of the tokenizer, and dense features."""
