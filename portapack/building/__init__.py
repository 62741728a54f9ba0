"""The build stage: render a project through each target's templates into its folder, atomically;
and the starter project of ``portapack init``."""
