// The `dde` executable: the commands are the DDECommands library, which tests also run in process.
import DDECommands

DDECommand.main()
