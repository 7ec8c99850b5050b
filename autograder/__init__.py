"""The course's tooling: build the learner notebooks and nnlib from solutions/, check and grade work."""
