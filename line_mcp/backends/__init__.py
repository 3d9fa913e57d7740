"""Backends: one Protocol per role (see ``base``) and one registry (see ``registry``)
that builds an implementation from a spec string. Implementations import torch,
transformers and diffusers lazily, inside the modules the registry loads on demand."""
