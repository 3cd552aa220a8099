"""Fallback webserver while the full app cannot start: only the execution API router."""

from fastapi import FastAPI

from tradewind.api.execution import router
from tradewind.services.env import Env
from tradewind.settings import load_settings


def app() -> FastAPI:
    """uvicorn factory: a FastAPI app serving ``/execution`` around the settings' Env."""
    application = FastAPI()
    application.state.env = Env.from_settings(load_settings())
    application.include_router(router)
    return application
