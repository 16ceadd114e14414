# How to add drainit to an application image: one COPY and the ENTRYPOINT.
#
#   make image && docker tag drainit:latest drainit:0.1.0   # until it is published
#   docker build -f Dockerfile.app -t myapp .                # the directory holds your app binary
#
# drainit is one static binary at /drainit: COPY it into any base image
# (debian, alpine, distroless, scratch). No shell, no `sleep`, no preStop
# hook needed in the image.
FROM drainit:0.1.0 AS drainit

# Your application's image. The tests build this file with the demo app
# (drainit-demo) as "app"; replace both lines with your own base and binary.
FROM scratch
COPY app /app

COPY --from=drainit /drainit /drainit
EXPOSE 8080 8081
# On SIGTERM: /ready on :8081 answers 503 at once, the app keeps serving
# for 5s while load balancers stop routing to it, then gets SIGTERM;
# whatever is left 20s later gets SIGKILL. The platform's grace must cover
# 5s + 20s + 2s: docker stop -t 30, compose stop_grace_period: 30s,
# terminationGracePeriodSeconds: 30 (docker stop's default 10s is too short):
#   docker run --rm drainit:0.1.0 explain --platform docker --drain-delay 5s --grace 20s
# /ready turns 200 once the app accepts connections on the port it listens on.
ENTRYPOINT ["/drainit", "--drain-delay=5s", "--grace=20s", "--http=0.0.0.0:8081", "--"]
CMD ["/app"]
