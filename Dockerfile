# One image for the worker and the web app; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY workflows workflows
COPY activities activities
COPY store store
COPY web web
COPY cli cli
COPY system system
COPY audit audit
COPY simulation simulation
COPY protocols protocols
COPY config config
COPY worker.py ./
RUN pip install --no-cache-dir .
ENV LOG_FORMAT=json
CMD ["python", "worker.py"]
