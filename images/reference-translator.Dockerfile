# The bench's reference translator (modules B and D: ADA → FHIR STU3 Bundle
# and back, docs/translator.md) as a candidate image: the project's own
# static bcbench binary and nothing else (nothing is pulled). Built by
# images/build.sh.
FROM scratch
COPY bcbench /bcbench
EXPOSE 8080
ENTRYPOINT ["/bcbench", "reference", "serve", "--role", "translator", "--addr", ":8080"]
