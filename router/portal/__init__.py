"""The work portal (/work/) of the units that handle tickets: departments, street offices, community
综治中心 and 网格员. Phone-first pages to log in, see "我的工单", 签收 / 退单 / 进展 / 办结 (with one photo),
and for a 网格员 to report what they find on patrol.

- app: mounts the sub-application (routes, static files, startup: stores on Redis);
- access: the login guard (session, CSRF), the session cookie; security headers are the console's;
- routes: the pages and form posts; the use cases are router.services.work's;
- photos: checking (magic bytes, size) and storing uploaded photos under Settings.var_dir/uploads;
- __main__: unit accounts from the shell (``python -m router.portal units add|list``).
"""
