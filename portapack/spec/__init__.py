"""The spec stage: portapack.yaml's model, the YAML file and its loader, the predictor's typed
signature, the GPU vocabulary and file references. Nothing here knows a platform."""
