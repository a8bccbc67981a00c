@echo off
rem Starts the Mailwarden native-messaging host. Edit the Python path to the installed one.
"C:\Program Files\Mailwarden\python\python.exe" -m companion.native_host %*
