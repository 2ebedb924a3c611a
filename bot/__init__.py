"""The bot runtime's Python code: the router's Rasa input channel and custom NLU components."""
