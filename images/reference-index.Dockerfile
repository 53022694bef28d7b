# The bench's reference index (IHE MHD Document Recipient and Responder) as a
# candidate image: the project's own static bcbench binary and nothing else
# (nothing is pulled). Built by images/build.sh.
FROM scratch
COPY bcbench /bcbench
EXPOSE 8080
ENTRYPOINT ["/bcbench", "reference", "serve", "--role", "index", "--addr", ":8080"]
