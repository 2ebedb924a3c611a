"""Serving-time code for Rasa (how the model is served, not what it is trained from): scripts/model_hash.sh
leaves this package out of the model's training inputs."""
