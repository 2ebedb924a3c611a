"""rasa-sdk action server for 社区民生服务助手: thin actions that call the router's API.

Run with ``rasa run actions --actions actions``; rasa-sdk imports every module of this package.
"""
