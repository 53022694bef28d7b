# The bench's reference DVZA (MedMij Geboortezorg data service: OAuth 2.0
# authorization server and STU3 resource server) as a candidate image: the
# project's own static bcbench binary and nothing else (nothing is pulled).
# Built by images/build.sh. It reaches the bench's test identity provider at
# $BCBENCH_IDP_URL, so a container must be able to reach that address
# (docs/medmij.md); the bench's own runs use the built-in or a process DVZA.
FROM scratch
COPY bcbench /bcbench
EXPOSE 8080
ENTRYPOINT ["/bcbench", "reference", "serve", "--role", "dvza", "--addr", ":8080"]
