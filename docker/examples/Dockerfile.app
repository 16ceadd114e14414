# How to add drainit to an application image.
#
#   make image                                  # builds drainit:latest (FROM scratch, just /drainit)
#   docker build -f Dockerfile.app -t myapp .   # the directory holds your app binary
#
# drainit is one static binary: COPY it into any base image (debian, alpine,
# distroless, scratch) and make it the ENTRYPOINT. No shell, no `sleep`, no
# preStop hook needed in the image.
FROM drainit:latest AS drainit

# Your application's image. The tests build this file with the demo app
# (drainit-demo) as "app"; replace both lines with your own base and binary.
FROM scratch
COPY app /app

COPY --from=drainit /drainit /drainit
EXPOSE 8080 8081
# On SIGTERM (docker stop, Kubernetes): /ready on :8081 answers 503 at once,
# the app keeps serving for 5 s while load balancers stop routing to it, then
# gets SIGTERM; whatever is left after 20 more seconds gets SIGKILL. Keep
# drain delay + grace below the platform's grace (docker stop -t, compose
# stop_grace_period, terminationGracePeriodSeconds): check with
#   docker run --rm drainit:latest explain --drain-delay 5s --grace 20s --termination-grace-period 30s
ENTRYPOINT ["/drainit", "--drain-delay=5s", "--grace=20s", "--http=0.0.0.0:8081", "--"]
CMD ["/app"]
