"""A test plugin recording the lifecycle events it receives, in order."""

from satchel.plugin import hookimpl


class EventRecorder:
    """``calls`` lists ``(event, ...)`` tuples as the event dispatcher delivers them."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def satchel_user_created(self, app, username):
        self.calls.append(("user_created", username))

    @hookimpl
    def satchel_stage_created(self, app, stage):
        self.calls.append(("stage_created", stage.name, stage.index_type.name))

    @hookimpl
    def satchel_on_upload(self, stage, project, version, link):
        self.calls.append(("on_upload", stage.name, project, version, link["filename"]))

    @hookimpl
    def satchel_on_versiondata_changed(self, stage, project, version, metadata):
        self.calls.append(("versiondata", stage.name, project, version))

    @hookimpl
    def satchel_on_commit(self, app, serial, changes):
        self.calls.append(("commit", serial))
