# The bench's reference XIS as a candidate image: the project's own static
# bcbench binary and nothing else (nothing is pulled). Built by images/build.sh.
FROM scratch
COPY bcbench /bcbench
EXPOSE 8080
ENTRYPOINT ["/bcbench", "reference", "serve", "--role", "xis", "--addr", ":8080"]
