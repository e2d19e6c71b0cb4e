"""Minimal load for the lab (the full scenarios and shapes land with the load issue)."""

from locust import FastHttpUser, between, task


class Browser(FastHttpUser):
    wait_time = between(0.1, 0.5)

    @task
    def books(self) -> None:
        self.client.get("/books?limit=20", name="/books")
