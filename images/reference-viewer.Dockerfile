# The bench's reference viewer as a candidate image: the project's own static
# bcbench binary and nothing else (nothing is pulled). Built by images/build.sh.
# BCBENCH_VIEWER_URL may name the address the browser reaches it at; without
# it the viewer uses the address of each request.
FROM scratch
COPY bcbench /bcbench
EXPOSE 8080
ENTRYPOINT ["/bcbench", "reference", "serve", "--role", "viewer", "--addr", ":8080"]
