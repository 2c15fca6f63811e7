"""Java target: the model as one dependency-free Java class (``render.render_java``)."""
